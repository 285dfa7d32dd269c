# Two commands do everything: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-unit bench bench-peers chaos lint services clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/psgraph demo --config config/demo.yaml

services:
	@scripts/ensure-services

test: $(STAMP) services
	$(BIN)/pytest

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

bench: $(STAMP) services
	$(BIN)/python -m bench

# About five minutes of failing sources, a killed gateway and a restarted Redis, then the
# figures that must hold (SIZE=small for a one-minute run).
SIZE ?= full
chaos: $(STAMP) services
	$(BIN)/python -m sandboxes.chaos --size $(SIZE)

# Side by side with Hive Gateway (installed with npm into var/bench-peers on first use).
bench-peers: $(STAMP)
	$(BIN)/python -m bench.peers

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy gateway resolvers schema sources sandboxes

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
