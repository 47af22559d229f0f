# inferops.triton — the two commands a new user needs:
#   make demo   deploy and benchmark Triton on a local node container (CPU flavour)
#   make test   unit tests, lint, sanity, molecule and the demo path
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
COLLECTION_LINK := build/collections/ansible_collections/inferops/triton
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

MODEL := build/models/resnet50-v2.onnx

.PHONY: help venv lab demo test check unit conformance lint rules sanity molecule integration \
	clean build \
	molecule-default molecule-rocm molecule-fleet

help:
	@echo "make demo    deploy and benchmark Triton on a local node (CPU flavour)"
	@echo "make test    unit, lint, sanity, conformance, molecule and integration tests"
	@echo "make check   the edit loop: lint, unit and conformance tests (no lab)"
	@echo "make clean   remove lab nodes and build output"

# The controller venv, pinned; re-made when requirements change.
$(BIN)/.stamp: requirements/controller.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/controller.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

venv: $(BIN)/.stamp $(COLLECTION_LINK)

# The demo model: generated (the ONNX model zoo is unreachable here), never committed.
$(MODEL): tools/make_resnet50_onnx.py | venv
	$(BIN)/python tools/make_resnet50_onnx.py --output $@

lab: venv $(MODEL)
	$(BIN)/python lab/labctl.py preflight --min-free-gb 10
	$(BIN)/python lab/labctl.py engine
	$(BIN)/python lab/labctl.py images
	$(BIN)/python lab/aptrepo.py build --out build/aptrepo --kernel-headers "$$(uname -r)"
	$(BIN)/python lab/rocm_standin.py images

demo: venv $(MODEL)
	$(BIN)/python lab/demo.py

unit: venv
	$(BIN)/pytest -q tests/unit

# What the code takes from AMD's and Triton's files, checked against ../shared/upstream
# (skipped, saying so, where it is absent) and AMD's own build.py --dryrun.
conformance: venv
	$(BIN)/pytest -q tests/conformance

check: lint rules unit conformance

lint: venv
	$(BIN)/ruff check .
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production

# The alerting rules: Debian's promtool (tools/promtool.sh, unpacked under build/, nothing
# installed) checks them and runs their unit tests on series captured in the lab.
PROMTOOL := build/promtool/usr/bin/promtool
$(PROMTOOL): tools/promtool.sh
	tools/promtool.sh >/dev/null

rules: venv $(PROMTOOL)
	$(PROMTOOL) check rules roles/prometheus/files/inferops-triton.rules.yml
	$(PROMTOOL) test rules tests/prometheus/*.test.yml
	$(BIN)/python tests/prometheus/make_tests.py --check

sanity: venv
	tests/sanity.sh

# `make test` has made the lab before these run (LAB_READY=1); run alone, they make it.
LAB_DEP := $(if $(LAB_READY),venv,lab)

MOLECULE_SCENARIOS := default rocm fleet
molecule: $(addprefix molecule-,$(MOLECULE_SCENARIOS))

$(addprefix molecule-,$(MOLECULE_SCENARIOS)): molecule-%: $(LAB_DEP)
	$(BIN)/molecule test -s $*

integration: $(LAB_DEP)
	$(BIN)/pytest -q --durations=0 --durations-min=20 tests/integration

# Everything CI runs, in parallel tracks where independent, with a table of stage times
# (tests/stages.py; each stage's log in build/test-logs/).
test:
	$(PYTHON) tests/stages.py

# The galaxy tarball, checked to hold no venv, caches, images, models or results.
build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path build/
	tests/check_tarball.sh build/inferops-triton-*.tar.gz

clean:
	-$(PYTHON) lab/labctl.py down
	rm -rf build benchmark-results tests/output
