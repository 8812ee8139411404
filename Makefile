# tablequeue: `make run` serves it on SQLite; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test clean bench-install

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(BIN)/activate

install: $(BIN)/activate

run: install
	$(BIN)/flask --app app db upgrade
	@$(BIN)/python -m tablequeue.cli.welcome --host $(HOST) --port $(PORT)
	BIND=$(HOST):$(PORT) $(BIN)/gunicorn wsgi:app -c gunicorn.conf.py

# The second run: the same suite on PostgreSQL + a Redis relay, several workers per server,
# plus tests/scale/. Skipped, and said so, where these services do not answer;
# REQUIRE_SERVICES=1 (CI) makes that an error.
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
SERVICES := TEST_DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL)

test: install
	@echo "== run 1 of 2: SQLite, one worker, in-process broadcast"
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL $(BIN)/python -m pytest $(PYTEST_ARGS)
	@if $(SERVICES) $(BIN)/python -m tests.kit.services; then \
		echo "== run 2 of 2: PostgreSQL + Redis relay, $${TEST_WEB_CONCURRENCY:-3} workers per server"; \
		$(SERVICES) $(BIN)/python -m pytest $(PYTEST_ARGS); \
	elif [ -n "$(REQUIRE_SERVICES)" ]; then \
		echo "FAILED: run 2 (PostgreSQL + Redis) is required here but they are unreachable"; exit 1; \
	else \
		echo "SKIPPED: run 2 of 2 (PostgreSQL + Redis, tests/scale/): services unreachable"; \
	fi

bench-install: install
	$(BIN)/pip install --quiet -e ".[dev,bench]"

clean:
	rm -rf $(VENV) .pytest_cache
