# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint messages clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[test,sms]"
	@touch $@ $(VENV)/.installed

# Embedded default: SQLite, Celery tasks in-process, SMS printed to this console. The
# demo's own SMS, sent in its past, are kept in the message table rather than printed.
# Beside the web server, Celery beat runs the periodic jobs (SMS outbox, deadline sweep
# and reminders, the dashboards' figures); with no broker, tasks are eager, so beat
# runs them itself. Ctrl-C stops both.
run: $(VENV)/.installed
	@$(BIN)/python manage.py compiletranslations
	@$(BIN)/python manage.py migrate --noinput -v 0
	@SMS_BACKEND=apps.notifications.backends.LocmemBackend $(BIN)/python manage.py seed_demo
	@$(BIN)/celery -A config -q beat -l warning & trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
	DJANGO_RUNSERVER_HIDE_WARNING=true $(BIN)/python manage.py runserver --skip-checks 127.0.0.1:8000

# axe-core for the accessibility tests, from npm (tests/browser/package-lock.json), when
# npm is there; without it (or offline) those tests skip, outside CI.
# (npm writes node_modules/.package-lock.json on each install.)
NPM := $(shell command -v npm 2>/dev/null)
NODE_MODULES := tests/browser/node_modules/.package-lock.json

$(NODE_MODULES): tests/browser/package-lock.json
	@npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error \
	  || echo "npm ci failed: the accessibility tests will skip"

# With DATABASE_URL and REDIS_URL set (as .ci/run does), on PostgreSQL and Redis.
test: $(VENV)/.installed-test $(if $(NPM),$(NODE_MODULES))
	$(BIN)/python manage.py compiletranslations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py check
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Refresh the Chinese catalog after changing user-facing text (needs GNU gettext).
messages: $(VENV)/.installed-test
	$(BIN)/python manage.py makemessages -l zh_Hans --no-location --ignore=.venv --ignore=bench

clean:
	rm -rf $(VENV) db.sqlite3 celerybeat-schedule* media staticfiles test-output tests/browser/node_modules
