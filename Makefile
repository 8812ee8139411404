# tablequeue: `make run` serves it on SQLite; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run lint test clean bench-install

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

# Two runs of the suite, side by side (tests/kit/both.py; TEST_SIDE_BY_SIDE=0: one after the
# other): SQLite with one worker, every test; PostgreSQL + a Redis relay with several workers
# per server, plus tests/scale/, without tests/browser/. Run 2 is skipped, and said so, where these services do not
# answer; REQUIRE_SERVICES=1 (CI) makes that an error.
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
SERVICES := TEST_DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL)

# Before the tests (and so in CI): ruff (style, import order, likely bugs) and mypy (types;
# which files and how strictly: [tool.ruff] and [tool.mypy] in pyproject.toml).
lint: install
	$(BIN)/ruff check
	$(BIN)/mypy

test: install lint
	$(SERVICES) REQUIRE_SERVICES=$(REQUIRE_SERVICES) PYTEST_ARGS="$(PYTEST_ARGS)" \
		$(BIN)/python -m tests.kit.both

bench-install: install
	$(BIN)/pip install --quiet -e ".[dev,bench]"

clean:
	rm -rf $(VENV) .pytest_cache
