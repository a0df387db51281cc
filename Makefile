# `make run` and `make test` set up everything they need on a fresh Debian machine (as root):
# Debian packages, the Python virtualenv, the dev PBX (Asterisk) and the test speech model.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HOTLINE := $(VENV)/bin/hotline
DEB_PACKAGES := debootstrap sip-tester espeak-ng sox postgresql iproute2 ca-certificates prometheus chromium chromium-driver fonts-noto-cjk
STAMP  := $(VENV)/.installed
# Browser libraries of the agent desktop (SIP.js), pinned by web/js/package-lock.json, served by us.
JS_STAMP := web/js/node_modules/.installed

.PHONY: all setup system-deps venv js pbx run test test-fast lint bench clean

all: test

system-deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "make: need root to apt-get install:$$missing" >&2; exit 1; fi; \
	  echo "apt-get install$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# compat mode puts the checkout on sys.path, so packages added later import without reinstalling
	$(VENV)/bin/pip install -q -e '.[test]' --config-settings editable_mode=compat
	touch $@

venv: $(STAMP)

# npm comes with Debian's nodejs+npm, or inside NodeSource's nodejs (which conflicts with Debian's
# npm package), so it is installed only when no npm is on the PATH.
$(JS_STAMP): web/js/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" != 0 ]; then echo "make: need root to apt-get install nodejs npm" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	cd web/js && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

js: $(JS_STAMP)

setup: system-deps venv js pbx

pbx: venv
	$(HOTLINE) pbx install

run: setup
	$(HOTLINE) run

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -q

test-fast: venv js
	$(VENV)/bin/pytest -q -m "not pbx and not postgres"

# Layer contracts: [tool.importlinter] in pyproject.toml.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	-$(HOTLINE) pbx stop
	rm -rf $(VENV) var/*.db var/*.db-* var/pbx-console.log
