# Two entry points for a fresh machine: `make demo` (the main job on synthetic data)
# and `make test`. Both create .venv first if it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# A second venv without torch: the runtime tests run there as on a Jetson.
DEVICE_VENV := .venv-device
DEVICE_STAMP := $(DEVICE_VENV)/.installed
TINY_EXPORT := build/tiny-export

.PHONY: demo test lint

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[train,dev,video]"
	# The stubs' own dependencies live on NVIDIA's index: install them without.
	$(BIN)/pip install --quiet --no-deps "tensorrt-stubs>=10.0"
	touch $(STAMP)

$(DEVICE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(DEVICE_VENV)
	$(DEVICE_VENV)/bin/pip install --quiet --upgrade pip
	$(DEVICE_VENV)/bin/pip install --quiet -e ".[onnx]" "onnx>=1.16" "pytest>=8"
	touch $(DEVICE_STAMP)

demo: $(STAMP)
	$(BIN)/jersey-edge demo

test: $(STAMP) $(DEVICE_STAMP)
	$(BIN)/python -m pytest -q
	rm -rf $(TINY_EXPORT)
	$(BIN)/python -m tests.tools.tiny_export $(TINY_EXPORT)
	$(DEVICE_VENV)/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('torch') is not None)"
	JERSEY_EDGE_TINY_EXPORT=$(TINY_EXPORT) $(DEVICE_VENV)/bin/python -m pytest -q tests/runtime tests/core

lint: $(STAMP)
	$(BIN)/ruff check jersey_edge tests
