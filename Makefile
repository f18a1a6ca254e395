# The two commands a newcomer needs: `make up` (run the stack) and `make test` (what CI runs).
# `make setup` installs the Debian packages and the virtualenv; it is skipped while the stamp
# below is current, so it costs nothing on a second run. The stamp is named after a hash of
# pyproject.toml and scripts/setup.sh: editing either (or deleting .venv) runs setup again.

SHELL := /bin/bash
VENV := .venv
SETUP_HASH := $(shell cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
SETUP_STAMP := $(VENV)/.setup-$(SETUP_HASH)

PYTEST_ARGS ?=
NAME ?=

.PHONY: setup up down test bench

setup: $(SETUP_STAMP)

$(SETUP_STAMP):
	bash scripts/setup.sh
	rm -f $(VENV)/.setup-*
	touch $@

up: setup
	$(VENV)/bin/hotline up

down:
	$(VENV)/bin/hotline down

test: setup
	$(VENV)/bin/hotline pbx build
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench:
	$(VENV)/bin/hotline bench $(NAME)
