"""Settings: config/default.toml, then config/<SURVEY_ENV>.toml, then SURVEY_* variables."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from survey_service.codes import SINGLE_PSU_RULES

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting the service reads; each is overridable by SURVEY_<NAME>.

    The defaults are in config/default.toml alone, which says what each setting means.
    """

    env: str
    database_url: str
    host: str
    port: int
    workers: int
    threads: int
    access_log: str
    log_level: str
    questionnaires_dir: str
    max_content_length: int
    max_upload_length: int
    max_media_length: int
    max_batch_size: int
    disclosure_threshold: int
    single_psu_rule: str
    allow_unsuppressed: bool
    attachments_dir: str
    trusted_proxies: int

    def resolved_attachments_dir(self) -> Path:
        """The attachments folder; a relative path is under the project root."""
        path = Path(self.attachments_dir)
        return path if path.is_absolute() else PROJECT_ROOT / path

    def resolved_database_url(self) -> str:
        """The database URL with a relative SQLite path anchored at the project root."""
        return resolve_sqlite_path(self.database_url)


def resolve_sqlite_path(url: str) -> str:
    """Anchor a relative `sqlite:///relative/path` at the project root and create its folder."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite://":
        return url
    raw = url[len(prefix) :]
    if raw in ("", ":memory:") or raw.startswith("/"):
        return url
    path = PROJECT_ROOT / raw.split("?", 1)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    query = "?" + raw.split("?", 1)[1] if "?" in raw else ""
    return f"{prefix}{path}{query}"


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _coerce(name: str, raw: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    if kind is int:
        if isinstance(raw, bool):
            raise ConfigError(f"{name} must be an integer, got {raw!r}")
        try:
            return int(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if not isinstance(raw, str):
        raise ConfigError(f"{name} must be a string, got {raw!r}")
    return raw


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        return tomllib.load(handle)


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Layer the TOML files, the environment and explicit overrides (tests) into Settings."""
    environ = os.environ if environ is None else environ
    config_dir = Path(environ.get("SURVEY_CONFIG_DIR", PROJECT_ROOT / "config"))
    env = (overrides or {}).get("env") or environ.get("SURVEY_ENV", "default")
    if not isinstance(env, str) or not env.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"SURVEY_ENV must be a plain name, got {env!r}")
    values: dict[str, Any] = _read_toml(config_dir / "default.toml")
    if env != "default":
        env_file = config_dir / f"{env}.toml"
        if not env_file.is_file():
            raise ConfigError(f"no configuration file {env_file} for SURVEY_ENV={env}")
        values.update(_read_toml(env_file))
    fields = {field.name: field for field in dataclasses.fields(Settings)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown configuration keys: {', '.join(unknown)}")
    for name in fields:
        env_value = environ.get(f"SURVEY_{name.upper()}")
        if env_value is not None and name != "env":
            values[name] = env_value
    values.update(overrides or {})
    values["env"] = env
    missing = sorted(set(fields) - set(values))
    if missing:
        raise ConfigError(
            f"no value for {', '.join(missing)}: {config_dir / 'default.toml'} sets every key"
        )
    kinds = {"int": int, "bool": bool}
    typed = {
        name: _coerce(name, value, kinds.get(str(fields[name].type), str))
        for name, value in values.items()
    }
    settings = Settings(**typed)
    if not settings.database_url:
        raise ConfigError("database_url is empty: set SURVEY_DATABASE_URL")
    if settings.trusted_proxies < 0:
        raise ConfigError(f"trusted_proxies must be 0 or more, got {settings.trusted_proxies}")
    if settings.single_psu_rule not in SINGLE_PSU_RULES:
        raise ConfigError(
            f"single_psu_rule must be {', '.join(SINGLE_PSU_RULES[:-1])} or "
            f"{SINGLE_PSU_RULES[-1]}, got {settings.single_psu_rule!r}"
        )
    return settings
