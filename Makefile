# The two commands: `make run` serves the API on SQLite; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_REPORT := var/pytest-postgresql.xml

.PHONY: run test lint bench clean

# setup.py compiles the modules listed in survey_service/build.py with mypyc: rebuilt when
# they, or the package modules whose types they rely on, change (build.py lists both)
NATIVE_SOURCES := survey_service/build.py $(shell $(PYTHON) survey_service/build.py)

$(STAMP): pyproject.toml setup.py $(NATIVE_SOURCES)
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
	$(BIN)/ruff check survey_service tests benchmarks alembic setup.py
	$(BIN)/ruff format --check survey_service tests benchmarks alembic/env.py setup.py
	$(BIN)/mypy --strict survey_service
	$(BIN)/lint-imports --no-cache

# pytest on SQLite (the unit tests also on pure Python), then the same suite on PostgreSQL
# when SURVEY_TEST_DATABASE_URL points there; the compiled build is required (tests/__init__.py)
# unless it was installed pure (SURVEY_PURE_PYTHON=1)
export SURVEY_TEST_REQUIRE_COMPILED := $(if $(filter-out 0,$(SURVEY_PURE_PYTHON)),0,1)

test: lint
	env -u SURVEY_TEST_DATABASE_URL $(BIN)/pytest -p no:cacheprovider
	@echo "--- the unit tests on the Python sources of the compiled modules (SURVEY_PURE_PYTHON)"
	env -u SURVEY_TEST_DATABASE_URL SURVEY_TEST_PURE_PYTHON=1 $(BIN)/pytest -p no:cacheprovider tests/unit
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
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache build
	find . -name '*.so' -not -path './.git/*' -delete
