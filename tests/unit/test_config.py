"""Settings come from config/<env>.toml, then SURVEY_* variables, then explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from survey_service import create_app
from survey_service.config import PROJECT_ROOT, ConfigError, load_settings


def test_defaults_from_toml() -> None:
    settings = load_settings(environ={})
    assert settings.env == "default"
    assert settings.port == 5000
    assert settings.resolved_database_url() == f"sqlite:///{PROJECT_ROOT / 'var' / 'survey.db'}"


def test_environment_wins_over_files() -> None:
    settings = load_settings(
        environ={"SURVEY_ENV": "test", "SURVEY_PORT": "8080", "SURVEY_MAX_BATCH_SIZE": "20"}
    )
    assert settings.env == "test"
    assert settings.port == 8080
    assert settings.max_batch_size == 20
    assert settings.log_level == "WARNING"  # from config/test.toml


def test_overrides_win_over_environment() -> None:
    settings = load_settings({"port": 9000}, environ={"SURVEY_PORT": "8080"})
    assert settings.port == 9000


def test_bad_values_are_reported() -> None:
    with pytest.raises(ConfigError, match="SURVEY_ENV"):
        load_settings(environ={"SURVEY_ENV": "../etc"})
    with pytest.raises(ConfigError, match="no configuration file"):
        load_settings(environ={"SURVEY_ENV": "staging"})
    with pytest.raises(ConfigError, match="port must be an integer"):
        load_settings(environ={"SURVEY_PORT": "eighty"})
    with pytest.raises(ConfigError, match="database_url is empty"):
        load_settings(environ={"SURVEY_ENV": "production"})


def test_unknown_keys_in_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "default.toml").write_text('databse_url = "x"\n')
    with pytest.raises(ConfigError, match="databse_url"):
        load_settings(environ={"SURVEY_CONFIG_DIR": str(tmp_path)})


def test_the_factory_honours_its_config(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    app = create_app({"database_url": url, "max_content_length": 1234})
    assert app.config["MAX_CONTENT_LENGTH"] == 1234
    engine = app.extensions["survey"]["engine"]
    engine.dispose()
    assert str(engine.url) == url


def test_every_default_comes_from_default_toml(tmp_path: Path) -> None:
    shipped = (PROJECT_ROOT / "config" / "default.toml").read_text(encoding="utf-8")
    lacking = "\n".join(line for line in shipped.splitlines() if not line.startswith("port "))
    (tmp_path / "default.toml").write_text(lacking, encoding="utf-8")
    with pytest.raises(ConfigError, match="no value for port"):
        load_settings(environ={"SURVEY_CONFIG_DIR": str(tmp_path)})
    # the same file with the key is complete: the Settings class holds no defaults of its own
    (tmp_path / "default.toml").write_text(shipped, encoding="utf-8")
    assert load_settings(environ={"SURVEY_CONFIG_DIR": str(tmp_path)}).port == 5000


def test_single_psu_rule_is_one_of_the_estimators_rules() -> None:
    with pytest.raises(ConfigError, match="must be fail, skip or centered"):
        load_settings(environ={"SURVEY_SINGLE_PSU_RULE": "average"})


def test_trusted_proxies_counts_the_proxies_in_front() -> None:
    assert load_settings(environ={}).trusted_proxies == 0
    assert load_settings(environ={"SURVEY_TRUSTED_PROXIES": "2"}).trusted_proxies == 2
    with pytest.raises(ConfigError, match="trusted_proxies must be an integer"):
        load_settings(environ={"SURVEY_TRUSTED_PROXIES": "yes"})
    with pytest.raises(ConfigError, match="trusted_proxies must be 0 or more"):
        load_settings(environ={"SURVEY_TRUSTED_PROXIES": "-1"})
