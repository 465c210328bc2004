# The two commands that matter: `make run` and `make test`. Both set everything up from a fresh clone.
# The venv's interpreter: Python 3.12 where tools/find-python finds it (3.11's garbage collector
# can crash a threaded worker: deploy/README.md, "Python version"), else python3. A venv made
# before with another Python stays as it is: `make clean` first.
ifndef PYTHON
PYTHON := $(shell tools/find-python)
endif
VENV := .venv
BIN := $(VENV)/bin
HUB := $(BIN)/hub
PORT ?= 5000
# The instance folder (HUB_INSTANCE_PATH, else instance/): the SQLite database, the secret key and
# the address make run serves at, read by the server and the command line alike (hub/config.py).
INSTANCE := $(or $(HUB_INSTANCE_PATH),instance)
SECRET_FILE := $(INSTANCE)/secret_key

.PHONY: run test bench lint format lock migrate seed catalogues extract-messages update-catalogues compile-catalogues vendor clean

## run: install, compile the catalogues, migrate, seed on first run, serve on http://127.0.0.1:$(PORT)
##      with the sync scheduler beside the web server. Links point at HUB_BASE_URL, else at
##      http://127.0.0.1:$(PORT), which is written to $(INSTANCE)/base_url for the command line.
##      One log line per request and per scheduler job (docs/monitoring.md); the server's and
##      the scheduler's metrics are kept together in $(INSTANCE)/metrics (/metrics adds them up).
run: $(VENV)/.runtime compile-catalogues $(SECRET_FILE)
	echo "$${HUB_BASE_URL:-http://127.0.0.1:$(PORT)}" > $(INSTANCE)/base_url
	$(HUB) migrate
	$(HUB) seed --if-empty
	@echo "Serving on http://127.0.0.1:$(PORT)/ with the sync scheduler (Ctrl-C stops both)"
	rm -rf $(INSTANCE)/metrics && mkdir -p $(INSTANCE)/metrics
	export HUB_BASE_URL="$${HUB_BASE_URL:-http://127.0.0.1:$(PORT)}" \
		HUB_TRUSTED_HOSTS="$${HUB_TRUSTED_HOSTS:-127.0.0.1,localhost}" \
		PROMETHEUS_MULTIPROC_DIR="$$(cd $(INSTANCE)/metrics && pwd)"; \
	$(HUB) scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn --config deploy/gunicorn.conf.py --bind 127.0.0.1:$(PORT) wsgi:app

## test: the whole suite, on SQLite and on PostgreSQL (127.0.0.1:5432, database test)
test: $(VENV)/.dev compile-catalogues
	$(BIN)/pytest

## bench: the hub's speed and memory against the bare-Flask limit and its peers (bench/README.md)
bench: $(VENV)/.dev compile-catalogues
	$(BIN)/python -m bench

## lint: ruff, including the gettext rules
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Every package, dependencies of dependencies too, at the version and with the file hashes of
# the lock files (make lock); the project itself then editable and without dependencies, for
# its `hub` command.
$(VENV)/.runtime: requirements.lock pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet --no-deps --editable .  # setuptools warns of editable installs
	touch $@

$(VENV)/.dev: requirements.lock requirements-dev.lock pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet --no-deps --editable .  # setuptools warns of editable installs
	touch $@ $(VENV)/.runtime

## lock: pin requirements.txt and requirements-dev.txt, with everything they pull in, in
##       requirements.lock and requirements-dev.lock (hashes included), with pip-tools in a
##       throwaway venv. Run it after changing a pin, and commit the four files together.
PIP_TOOLS_VERSION := 7.7.0
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links
lock:
	tools=$$(mktemp -d) && trap 'rm -rf "$$tools"' EXIT && \
	$(PYTHON) -m venv "$$tools" && \
	"$$tools/bin/pip" install --quiet pip-tools==$(PIP_TOOLS_VERSION) && \
	export CUSTOM_COMPILE_COMMAND="make lock" && \
	"$$tools/bin/pip-compile" $(LOCK_FLAGS) --output-file requirements.lock requirements.txt && \
	"$$tools/bin/pip-compile" $(LOCK_FLAGS) --constraint requirements.lock \
		--output-file requirements-dev.lock requirements-dev.txt

$(SECRET_FILE):
	mkdir -p $(INSTANCE)
	umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))' > $@

## Catalogues: extract the messages, merge them into vi/en/ja, compile them.
extract-messages: $(VENV)/.runtime
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords _l --keywords lazy_gettext --keywords lazy_pgettext:1c,2 \
		--sort-by-file --add-location=file --no-wrap --project "OCOP Exchange Hub" \
		--output-file translations/messages.pot .

update-catalogues: extract-messages
	$(BIN)/pybabel update --input-file translations/messages.pot --output-dir translations \
		--no-fuzzy-matching --ignore-obsolete --no-wrap

compile-catalogues: $(VENV)/.runtime
	$(BIN)/pybabel compile --directory translations --statistics

catalogues: update-catalogues compile-catalogues

## vendor: refresh the third-party files the app ships (committed, so that neither make run nor
##         make test needs npm): Chartist for the charts, Natural Earth boundaries for the map.
##         Change a version here, run make vendor, and commit the result.
CHARTIST_VERSION := 1.5.0
WORLD_ATLAS_VERSION := 2.0.2
vendor:
	rm -rf .vendor-tmp && mkdir .vendor-tmp
	cd .vendor-tmp && npm pack --silent chartist@$(CHARTIST_VERSION) world-atlas@$(WORLD_ATLAS_VERSION) >/dev/null
	cd .vendor-tmp && for f in *.tgz; do mkdir "$${f%.tgz}" && tar -xzf "$$f" -C "$${f%.tgz}"; done
	mkdir -p hub/static/vendor/chartist hub/registry/geodata
	# The source maps are not shipped, so their references go too.
	sed '/^\/\/# sourceMappingURL=/d' .vendor-tmp/chartist-$(CHARTIST_VERSION)/package/dist/index.umd.js \
		> hub/static/vendor/chartist/chartist.umd.js
	sed 's|/\*# sourceMappingURL=[^*]*\*/||' .vendor-tmp/chartist-$(CHARTIST_VERSION)/package/dist/index.css \
		> hub/static/vendor/chartist/chartist.css
	cp .vendor-tmp/chartist-$(CHARTIST_VERSION)/package/LICENSE-MIT hub/static/vendor/chartist/
	cp .vendor-tmp/world-atlas-$(WORLD_ATLAS_VERSION)/package/countries-110m.json hub/registry/geodata/
	cp .vendor-tmp/world-atlas-$(WORLD_ATLAS_VERSION)/package/LICENSE hub/registry/geodata/LICENSE-world-atlas
	rm -rf .vendor-tmp

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
