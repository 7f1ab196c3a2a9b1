# The two commands a newcomer runs: `make demo` and `make test`. Each sets itself up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := .demo
DEMO_DEVICES ?= 2000

.PHONY: demo wheel-check test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# The whole pipeline on the embedded synthetic site (SQLite), end to end.
demo: $(VENV)/.installed
	@mkdir -p $(DEMO)
	@test -f $(DEMO)/site-$(DEMO_DEVICES).db || \
		$(BIN)/python -m fixtures.synthetic_site --db sqlite:///$(DEMO)/site-$(DEMO_DEVICES).db --devices $(DEMO_DEVICES)
	SCCM_CEP_DATA_DIR=$(DEMO)/state $(BIN)/sccm-cep export \
		--db sqlite:///$(DEMO)/site-$(DEMO_DEVICES).db --out $(DEMO)/out

# The wheel in a new venv outside the checkout, no extras: what an admin installs.
wheel-check: demo
	PYTHON=$(PYTHON) scripts/wheel-check $(DEMO)/site-$(DEMO_DEVICES).db

# ruff (lint and format), mypy (strict on sccm_cep/ and connectors/, tests/ with a relaxed
# override) and the whole pytest suite with coverage: the report lists the files not fully
# covered, and the run fails under the floor set in pyproject.toml ([tool.coverage.report]).
# The import rules of docs/architecture.md run inside the suite (tests/test_architecture.py).
test: $(VENV)/.installed-test
	@scripts/ensure-services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@# Byte-compiled first, as pip compiles an installed package: where PYTHONDONTWRITEBYTECODE
	@# is set, every CLI process a test starts would compile sccm-cep from source again.
	@$(BIN)/python -m compileall -q sccm_cep connectors > /dev/null
	$(BIN)/pytest --cov=sccm_cep --cov=sccm_cep_connectors --cov-report=term:skip-covered

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

clean:
	rm -rf $(DEMO) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage
