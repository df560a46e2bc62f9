# Kumo: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080
EXAMPLES ?= examples

.PHONY: help install run test lint format crds bench kube-tools clean

help:
	@echo "make run    - install, start local mode with the examples, print curl lines"
	@echo "make test   - install and run the linters and the whole test suite"
	@echo "make bench  - run the benchmarks (figures as ratios against baselines)"
	@echo "make crds   - regenerate charts/kumo/crds from the resource models"

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml $(BIN)/activate
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/kumo up $(EXAMPLES) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/pytest -q -p no:cacheprovider

crds: install
	$(BIN)/python -m kumo.crds charts/kumo/crds

bench: install
	$(BIN)/python bench/invoke.py
	$(BIN)/python bench/tables.py
	$(BIN)/python bench/scale.py

kube-tools:
	bash hack/install-kube-tools.sh

clean:
	rm -rf $(VENV) .kumo build *.egg-info .pytest_cache .ruff_cache .hypothesis
