# Agent Playground. `make run` serves the playground; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-embedded test-services lint mypy bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.requirements: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.requirements-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.requirements

run: $(VENV)/.requirements
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/run.sh

test: $(VENV)/.requirements-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/test.sh

test-embedded: $(VENV)/.requirements-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/test.sh embedded

test-services: $(VENV)/.requirements-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/test.sh services

lint: $(VENV)/.requirements-dev mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

mypy: $(VENV)/.requirements-dev
	$(BIN)/mypy playground agents_app runs accounts ops webhooks traces metrics providers mcp_servers

bench: $(VENV)/.requirements-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" python bench/run.py
	PATH="$(CURDIR)/$(BIN):$$PATH" python bench/tools.py

clean:
	rm -rf $(VENV) var staticfiles test-artifacts
