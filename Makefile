# `make demo` and `make test` each build .venv from nothing, then run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench bench-compare clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/tinygrad-attn demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	HYPOTHESIS_PROFILE=ci $(BIN)/python -m pytest -q

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run.py

# paired speed of the work tree against a commit: make bench-compare REF=main
REF ?= HEAD~1
bench-compare: $(BIN)/.installed
	$(BIN)/python benchmarks/compare.py $(REF)

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis build *.egg-info
