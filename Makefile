# Two commands on a fresh machine with Python 3.11+ and make:
#   make demo   install the package and run the demo (embedded local server unless TASKMANAGER_API_URL is set)
#   make test   install the test tools and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SPEC_URL ?= https://api.prismq.nomoos.cz/api/openapi.json

.DEFAULT_GOAL := demo
.PHONY: demo test test-aiohttp install dev spec generate check-generated record bench lint typecheck clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

demo: install
	$(BIN)/taskmanager demo

test: dev
	$(BIN)/python -m pytest

# The async client's tests again, every async client on httpx-over-aiohttp (http_backend="aiohttp");
# test_transport_choices reads httpx's own pool internals (test_async_transports checks aiohttp's).
test-aiohttp: dev
	$(BIN)/python -m pytest -q --http-backend=aiohttp tests/client tests/worker tests/faults \
		--deselect tests/client/test_async_client.py::test_transport_choices

# Download the published API description ("the API changed" story: make spec generate).
spec: dev
	$(BIN)/python scripts/fetch_spec.py "$(SPEC_URL)" openapi.json

# openapi.json + openapi.overlay.yaml -> generated/taskmanager_api (deterministic).
generate: dev
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python scripts/generate.py

# Generate into a temporary folder and compare: the working tree is left as it was.
check-generated: dev
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python scripts/generate.py --check

# Record cassettes against the local server (or TASKMANAGER_API_URL when set).
record: dev
	$(BIN)/python -m pytest tests/client/test_client_cassettes.py --record-mode=rewrite

bench: dev
	$(BIN)/python scripts/bench.py

lint: dev
	$(BIN)/ruff check taskmanager tests scripts
	$(BIN)/ruff format --check taskmanager tests scripts

typecheck: dev
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
