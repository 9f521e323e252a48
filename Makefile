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
	$(BIN)/pip install --quiet -e ".[train,dev,video,openvino]"
	# The stubs' own dependencies live on NVIDIA's index: install them without.
	$(BIN)/pip install --quiet --no-deps "tensorrt-stubs>=10.0"
	# The tritonserver binary the Triton server test starts; the test skips without it.
	$(BIN)/pip install --quiet --no-deps "nvidia-pytriton>=0.7" || echo "nvidia-pytriton not installed"
	touch $(STAMP)

$(DEVICE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(DEVICE_VENV)
	$(DEVICE_VENV)/bin/pip install --quiet --upgrade pip
	$(DEVICE_VENV)/bin/pip install --quiet -e ".[onnx,openvino]" "onnx>=1.16" "pytest>=8"
	touch $(DEVICE_STAMP)

demo: $(STAMP)
	$(BIN)/jersey-edge demo

test: $(STAMP) $(DEVICE_STAMP)
	# OpenVINO's own tests in a process of their own: with OpenVINO loaded, a later fork
	# (subprocesses, DataLoader workers) crashed the test process (docs/runtime.md).
	$(BIN)/python -m pytest -q --ignore=tests/runtime/test_openvino.py
	$(BIN)/python -m pytest -q tests/runtime/test_openvino.py
	rm -rf $(TINY_EXPORT)
	$(BIN)/python -m tests.tools.tiny_export $(TINY_EXPORT)
	$(DEVICE_VENV)/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('torch') is not None)"
	JERSEY_EDGE_TINY_EXPORT=$(TINY_EXPORT) $(DEVICE_VENV)/bin/python -m pytest -q tests/runtime tests/core --ignore=tests/runtime/test_openvino.py
	JERSEY_EDGE_TINY_EXPORT=$(TINY_EXPORT) $(DEVICE_VENV)/bin/python -m pytest -q tests/runtime/test_openvino.py

lint: $(STAMP)
	$(BIN)/ruff check jersey_edge tests
