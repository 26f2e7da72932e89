# Two commands on a fresh machine with Python 3.11+ and make:
#   make demo   install the package and run the demo (embedded local server unless TASKMANAGER_API_URL is set)
#   make test   install the test tools and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SPEC_URL ?= https://api.prismq.nomoos.cz/api/openapi.json

.DEFAULT_GOAL := demo
.PHONY: demo test test-versions test-aiohttp install dev spec generate check-generated record bench lint typecheck clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip

# setuptools prints an "Editable installation ... be careful with folders" note for every
# editable install from two source folders (. and generated/): it is information, not a problem.
PIP_INSTALL = PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

demo: install
	$(BIN)/taskmanager demo

test: dev
	$(BIN)/python -m pytest

# The async client's tests again, every async client on httpx-over-aiohttp (http_backend="aiohttp");
# test_transport_choices reads httpx's own pool internals (test_async_transports checks aiohttp's).
# The suite on each Python in PYTHON_VERSIONS, each in its own venv (.venv-3.X) installed from
# PyPI like .venv; the interpreters are found on PATH or under pyenv (scripts/find_python.sh).
PYTHON_VERSIONS ?= 3.11 3.12 3.13
test-versions:
	@for v in $(PYTHON_VERSIONS); do \
		py=$$(scripts/find_python.sh $$v) || exit 1; \
		echo "== Python $$v ($$py)"; \
		$(MAKE) --no-print-directory test PYTHON="$$py" VENV=.venv-$$v || exit 1; \
	done

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
	rm -rf $(VENV) .venv-3.* build *.egg-info .pytest_cache
