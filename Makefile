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
	@$(BIN)/python -m tablequeue.welcome --host $(HOST) --port $(PORT)
	BIND=$(HOST):$(PORT) $(BIN)/gunicorn wsgi:app -c gunicorn.conf.py

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench-install: install
	$(BIN)/pip install --quiet -e ".[dev,bench]"

clean:
	rm -rf $(VENV) .pytest_cache
