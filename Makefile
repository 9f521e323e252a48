# Two entry points for a fresh machine: `make demo` (the main job on synthetic data)
# and `make test`. Both create .venv first if it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[train,dev]"
	# The stubs' own dependencies live on NVIDIA's index: install them without.
	$(BIN)/pip install --quiet --no-deps "tensorrt-stubs>=10.0"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/jersey-edge demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check jersey_edge tests
