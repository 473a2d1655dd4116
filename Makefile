# jvmops.deploy: the two commands are `make demo` and `make test`; the rest are their parts.
# Every target sets up what it needs (Debian packages, .venv) on a fresh Debian-like machine as root.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
LAB         := python3 tests/lab/lab.py
LAB_DIR     ?= $(or $(JVMOPS_LAB_DIR),/var/lib/jvmops-lab)
INVENTORY   := $(LAB_DIR)/inventory.yml
COLLECTIONS := $(CURDIR)/.build/collections
TREE        := $(COLLECTIONS)/ansible_collections/jvmops/deploy
RUN_TESTS   := $(PY) hacking/run_tests.py
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_FORCE_COLOR := 0
export JVMOPS_LAB_DIR := $(LAB_DIR)

.PHONY: help system venv tree demo test test-extended test-matrix sanity lint units build-test integration lab-test \
        lab-up lab-down lab-status build clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

system: ## check the machine (Linux, root, nspawn) and install the Debian packages the lab needs
	@hacking/bootstrap.sh system

venv: ## .venv with the pinned dev requirements and the newest suitable CPython
	@hacking/bootstrap.sh venv

tree: venv ## copy the collection into .build/collections/ansible_collections/jvmops/deploy
	@hacking/tree.sh "$(TREE)"

demo: system tree lab-up ## bring up the lab, run site.yml on it, print where the app answers
	@hacking/demo.sh "$(INVENTORY)"

test: system tree ## sanity, lint, unit, build, integration and lab tests, one summary
	@$(RUN_TESTS) --tree "$(TREE)" sanity lint units build integration lab

test-extended: system tree ## the lab variants make test leaves out, and the site.yml smoke on Debian 13 (about 10 minutes)
	@$(RUN_TESTS) --tree "$(TREE)" lab-extended

test-matrix: system tree ## every lab scenario on Debian 12 hosts, then on Debian 13 hosts (slow: about an hour)
	@$(RUN_TESTS) --tree "$(TREE)" lab-matrix

sanity: tree ## ansible-test sanity with empty ignore files
	@$(RUN_TESTS) --tree "$(TREE)" sanity

lint: tree ## ansible-lint (production profile) and the changelog fragments
	@$(RUN_TESTS) --tree "$(TREE)" lint

units: tree ## pytest unit tests
	@$(RUN_TESTS) --tree "$(TREE)" units

build-test: tree ## build the tarball, install it offline, use it from the installed copy
	@$(RUN_TESTS) --tree "$(TREE)" build

integration: tree ## ansible-test integration targets
	@$(RUN_TESTS) --tree "$(TREE)" integration

lab-test: system tree ## playbook scenarios on a fresh lab (result, changed=0 rerun, --check)
	@$(RUN_TESTS) --tree "$(TREE)" lab

lab-up: system ## boot the lab hosts (LAB_HOSTS=lb1,app1,... to choose) and write the inventory
	@$(LAB) up $(if $(LAB_HOSTS),--hosts $(LAB_HOSTS))

lab-down: ## remove the lab hosts, bridge and apt proxy (keeps the cached image)
	@$(LAB) down

lab-status: ## show the lab hosts
	@$(LAB) status

build: tree ## build the collection tarball
	@cd "$(TREE)" && $(CURDIR)/$(VENV)/bin/ansible-galaxy collection build --force --output-path $(CURDIR)

clean: ## remove .build and test output (not .venv, not the lab)
	rm -rf .build tests/output jvmops-deploy-*.tar.gz
