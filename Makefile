# Gwanje — two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
VENV  := .venv/bin
PY    := $(VENV)/python
GW    := $(VENV)/gwanje
export GWANJE_DATA_DIR ?= $(CURDIR)/var
PORT  ?= 8000

.PHONY: run test install install-test lint test-spatialite test-postgis bench messages clean

install:
	@scripts/install.sh

install-test:
	@scripts/install.sh --test

## make run: install what is missing, migrate, load Seongdong on first run, serve http://127.0.0.1:8000
run: install
	@mkdir -p "$(GWANJE_DATA_DIR)"
	@$(GW) migrate --no-input -v 0
	@$(GW) load-deployment $${GWANJE_DEPLOYMENT:-seongdong} --if-missing
	@$(GW) ensure-admin
	@$(GW) run --host 127.0.0.1 --port $(PORT)

## make test: the same install, lint, then the whole suite on SpatiaLite and again on PostGIS
test: install-test lint test-spatialite test-postgis

lint:
	@$(VENV)/ruff check gwanje tests bench
	@$(VENV)/ruff format --check gwanje tests bench
	@GWANJE_DATA_DIR=$$(mktemp -d) $(GW) makemigrations --check --dry-run
	@GWANJE_DATA_DIR=$$(mktemp -d) $(GW) check --fail-level WARNING

test-spatialite:
	@echo "=== test suite on SpatiaLite ==="
	@env -u GWANJE_DATABASE_URL GWANJE_DATA_DIR=$$(mktemp -d) $(VENV)/pytest $(PYTEST_ARGS)

test-postgis:
	@echo "=== test suite on PostGIS ==="
	@url=$$(scripts/postgis.sh) && GWANJE_DATABASE_URL=$$url GWANJE_DATA_DIR=$$(mktemp -d) $(VENV)/pytest $(PYTEST_ARGS)

## make bench: the performance figures the issues ask for, printed as tables
bench: install-test
	@url=$$(scripts/postgis.sh) && GWANJE_BENCH_POSTGIS_URL=$$url $(PY) -m bench $(BENCH_ARGS)

messages:
	@$(GW) makemessages -l ko -l en --no-location --ignore '.venv/*' --ignore 'node_modules/*' --ignore 'static/vendor/*'
	@$(GW) makemessages -d djangojs -l ko -l en --no-location --ignore '.venv/*' --ignore 'node_modules/*' --ignore 'static/vendor/*'

clean:
	rm -rf var .pytest_cache static/vendor node_modules
