# containerops.fleet — developer and CI entry points.  `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
LAB := $(PYTHON) tools/lab/lab.py
LAB_B := FLEET_LAB_NAME=fleet-lab-b FLEET_LAB_INVENTORY=$(abspath .build/lab-b/hosts.yml) $(LAB)
K8S := $(PYTHON) tools/lab/k8s.py
LINK := .build/collections/ansible_collections/containerops/fleet
SANITY_TREE := .build/ansible-test/ansible_collections/containerops/fleet
SCENARIOS ?= $(notdir $(patsubst %/molecule.yml,%,$(wildcard extensions/molecule/*/molecule.yml)))

export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(abspath ansible.cfg)
export ANSIBLE_COLLECTIONS_PATH := $(abspath .build/collections)
export ANSIBLE_FORCE_COLOR ?= 0
export PY_COLORS ?= 0

.PHONY: help demo lab-up lab-down lab-status k8s-up k8s-down k8s-status venv venv-test link test test-unit lint sanity \
        molecule machine-deps molecule-% e2e e2e-fresh galaxy bench clean

help: ## This list
	@grep -hE '^[a-z%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(VENV)/.stamp-run: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-run requirements-test.txt
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@

venv: $(VENV)/.stamp-run
venv-test: $(VENV)/.stamp-test

link: ## Make the checkout importable as containerops.fleet
	@mkdir -p $(dir $(LINK)) && ln -sfn ../../../.. $(LINK)

lab-up: ## Bring up the lab hosts (Docker engine, host image, 5 hosts, inventories/lab)
	$(LAB) up

lab-down: ## Remove the lab hosts and their network (and the second lab of `make e2e`)
	$(LAB) down
	$(LAB_B) down

lab-status: ## Show the lab hosts
	$(LAB) status

k8s-up: ## Bring up the single-node Kubernetes lab (binaries: FLEET_K8S_BIN, default ../shared/k8s/bin)
	$(K8S) up

k8s-down: ## Stop the Kubernetes lab (by PID) and remove its state
	$(K8S) down

k8s-status: ## Show the Kubernetes lab's components and node
	$(K8S) status

demo: venv link lab-up ## Lab up, then site.yml on it, then what runs where
	$(BIN)/ansible-playbook -i inventories/lab playbooks/site.yml
	@echo; echo "The lab:"; $(LAB) status
	@echo; echo "The demo service through HAProxy:  curl http://127.0.0.1:$${FLEET_LAB_HTTP_PORT:-8080}/"
	@echo "HAProxy stats:  http://127.0.0.1:$${FLEET_LAB_STATS_PORT:-8404}/stats    Prometheus:  http://127.0.0.1:$${FLEET_LAB_PROMETHEUS_PORT:-9090}/targets"
	@echo "Next: $(BIN)/ansible-playbook playbooks/deploy.yml -e service=web -e image=fleet-demo:1   (zero downtime)"

test: lint sanity test-unit molecule e2e-fresh galaxy ## The whole suite (what CI runs); replaces any running lab

lint: venv-test link ## ruff, yamllint, ansible-lint (production profile)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --diff plugins tests tools
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production --strict

sanity: venv-test ## ansible-test sanity (venv mode, offline)
	$(BIN)/python tools/ansible_test_prep.py $(SANITY_TREE)
	cd $(SANITY_TREE) && $(BIN)/ansible-test sanity --venv --python 3.11 --color no

test-unit: venv-test link ## Unit tests (pure logic, no hosts)
	$(BIN)/pytest -q tests/unit

molecule: venv-test link ## Every Molecule scenario (SCENARIOS="a b" for some)
	@for s in $(SCENARIOS); do $(MAKE) --no-print-directory molecule-$$s || exit 1; done

molecule-%: venv-test link
	$(LAB) image >/dev/null
	cd extensions && $(BIN)/molecule test -s $*

# Order matters: each file builds on what the previous ones proved (runtime -> images -> services -> ...).
# tools/e2e.py runs swarm, k8s_live and team at the same time on a second lab (fleet-lab-b), after site.yml there.
E2E ?= lab runtime image service haproxy edge monitoring operator hostile noshell autoscale swarm k8s_live team
# Tools the end-to-end tests use on this machine: wrk (HAProxy load tests), cron (the autoscaler's manager).
machine-deps:
	@missing=""; command -v wrk >/dev/null || missing="$$missing wrk"; command -v crontab >/dev/null || missing="$$missing cron"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing$$missing (apt-get)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "the end-to-end tests need:$$missing - install them (e.g. sudo apt-get install$$missing)"; exit 2; fi; \
	fi

e2e: venv-test link lab-up machine-deps ## End-to-end tests on the lab hosts (pytest + testinfra; E2E="service haproxy" for some)
	$(BIN)/python tools/e2e.py $(E2E)

# The suite proves each step on hosts that start as new servers: a lab left by `make demo` or an earlier run
# (swarm formed, services scaled, registry set up) is removed first, as on a bare CI machine.  So is the
# Kubernetes lab: test_k8s_live brings it up again from FLEET_K8S_BIN (binaries and images stay cached).
e2e-fresh: ## End-to-end tests on a lab rebuilt from nothing (the host image stays cached)
	$(LAB) down
	$(LAB_B) down
	$(K8S) down
	$(MAKE) --no-print-directory e2e

galaxy: venv-test ## Build the tarball, install it into an empty project offline, use it there
	$(BIN)/pytest -q tests/galaxy

bench: venv-test link lab-up ## Ours vs the peer, side by side, medians and ratios
	$(BIN)/python tools/bench.py

clean: lab-down ## Remove the lab and build output
	rm -rf .build tests/output
