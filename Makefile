# Kelu: the few targets people use. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes (pytest-xdist): one per core by default; TEST_PROCESSES=0 runs in this process.
TEST_PROCESSES ?= auto

.PHONY: run test lint format bench load migrate demo messages clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changed.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt requirements-checker.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-checker.txt
	@touch $@

migrate: $(VENV)/.installed
	DEBUG=1 $(BIN)/python manage.py migrate --noinput -v 0

# The demo's own output (links, counts, the mail it sends) goes to var/demo.log; on a
# failure it is printed.
demo: migrate
	@mkdir -p var
	@echo "Loading the demo data (details in var/demo.log)..."
	@( DEBUG=1 $(BIN)/python manage.py load_demo \
	  && DEBUG=1 $(BIN)/python manage.py load_analytics_demo \
	  && DEBUG=1 $(BIN)/python manage.py load_obligations_demo ) > var/demo.log 2>&1 \
	  || { cat var/demo.log; exit 1; }

run: demo
	@DEBUG=1 $(BIN)/python manage.py demo_summary --address http://$(HOST):$(PORT)
	@DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py translation_report --strict --shipped-only

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/submissions.py
	$(BIN)/python bench/invitations.py
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/matching_db.py
	$(BIN)/python bench/analytics.py
	$(BIN)/python bench/research_export.py
	$(BIN)/python bench/audit.py

# 200 simulated users for 5 minutes against gunicorn, PostgreSQL, Redis and Celery on this
# machine (load/run.sh says what it starts and which settings change it); never run in CI.
load: $(VENV)/.installed-dev
	BIN=$(BIN) bash load/run.sh

messages: $(VENV)/.installed-dev
	DEBUG=1 $(BIN)/python manage.py makemessages -l kk -l ru --no-obsolete --ignore=.venv --ignore=tests --ignore=bench --ignore=templates/rest_framework --ignore=templates/drf_spectacular
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
