# Two commands do everything: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo win-deal test test-unit fuzz bench bench-peers bench-instructions chaos lint ci services chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/psgraph demo --config config/demo.yaml

# With the demo running: win a deal in the CRM sandbox; the demo turns it into a project.
win-deal: $(STAMP)
	$(BIN)/psgraph win-deal --config config/demo.yaml

services:
	@scripts/ensure-services

chromium:
	@scripts/ensure-chromium

# Two workers, each given whole files: a file's module-wide gateway and sandboxes stay
# in one process, and the end-to-end files, mostly waiting, overlap.
test: $(STAMP) services chromium
	$(BIN)/pytest -n 2 --dist loadfile

# The edge's fuzz suite at full size (`make test` runs 3,000 + 600 cases).
fuzz: $(STAMP) services
	PSGRAPH_FUZZ_CASES=10000,2000 $(BIN)/pytest tests/e2e/test_fuzz.py

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

# The gateway's instructions per request under valgrind's callgrind: counted, not timed,
# so two builds compare on a busy machine (needs valgrind).
bench-instructions: $(STAMP)
	$(BIN)/python -m bench.instructions

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy gateway resolvers schema sources sandboxes

# What CI runs (.ci/run): the whole suite, then the linters.
ci: test lint

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
