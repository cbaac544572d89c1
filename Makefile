# The two commands: `make run` serves the API on SQLite; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_REPORT := var/pytest-postgresql.xml

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/survey-service migrate
	$(BIN)/survey-service load-questionnaires
	$(BIN)/survey-service ensure-admin
	$(BIN)/survey-service serve

lint: $(STAMP)
	$(BIN)/ruff check survey_service tests benchmarks alembic
	$(BIN)/ruff format --check survey_service tests benchmarks alembic/env.py
	$(BIN)/mypy --strict survey_service

# pytest on SQLite, then the same suite on PostgreSQL when SURVEY_TEST_DATABASE_URL points there
test: lint
	env -u SURVEY_TEST_DATABASE_URL $(BIN)/pytest -p no:cacheprovider
	@mkdir -p var; rm -f $(PG_REPORT)
	@if [ -n "$$SURVEY_TEST_DATABASE_URL" ]; then \
		echo "--- the same suite on $$SURVEY_TEST_DATABASE_URL"; \
		$(BIN)/pytest -p no:cacheprovider --junitxml=$(PG_REPORT); \
	else \
		echo "SURVEY_TEST_DATABASE_URL is not set: skipped the PostgreSQL run"; \
	fi

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
