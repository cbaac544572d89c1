"""The `survey-service` command: migrate, load questionnaires, create users, serve."""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click
from sqlalchemy.orm import Session

from survey_service.config import PROJECT_ROOT, ConfigError, Settings, load_settings
from survey_service.errors import ServiceError

if TYPE_CHECKING:  # alembic is imported by the commands that need it (startup time)
    from alembic.config import Config


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    """A session on the configured database; the engine is disposed afterwards."""
    from survey_service.db import make_engine, make_session_factory

    engine = make_engine(settings.resolved_database_url())
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _fail(exc: ServiceError) -> click.ClickException:
    lines = [f"{exc.code}: {exc.detail}"]
    lines += [f"  {e['path']}: {e['code']}: {e['message']}" for e in exc.errors or []]
    return click.ClickException("\n".join(lines))


def alembic_config(database_url: str) -> Config:
    """The alembic configuration of the service's migrations, on `database_url`."""
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def run_migrations(database_url: str) -> None:
    """Bring the database schema to the latest alembic revision."""
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")


@click.group()
def main() -> None:
    """Survey service: questionnaires, validated responses and aggregates."""


@main.command()
def migrate() -> None:
    """Apply database migrations (alembic upgrade head)."""
    settings = _settings()
    run_migrations(settings.resolved_database_url())
    click.echo("database schema is up to date")


@main.command("load-questionnaires")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def load_questionnaires(path: Path | None) -> None:
    """Create or update questionnaires from JSON files, publishing changed ones."""
    from survey_service.services.questionnaires import definition_files, load_file

    settings = _settings()
    folder = path or (PROJECT_ROOT / settings.questionnaires_dir)
    with _session(settings) as session:
        for file in definition_files(folder):
            try:
                outcome = load_file(session, file)
            except ServiceError as exc:
                session.rollback()
                raise _fail(exc) from exc
            session.commit()
            click.echo(f"{outcome.qid}: {outcome.action} (version {outcome.version})")


@main.command("create-user")
@click.argument("name")
@click.option("--role", required=True, help="admin, researcher, supervisor, enumerator, ...")
@click.option("--country", "countries", multiple=True, help="ISO code; repeat for several.")
@click.option("--password", envvar="SURVEY_NEW_USER_PASSWORD", default=None, hidden=True)
def create_user(name: str, role: str, countries: tuple[str, ...], password: str | None) -> None:
    """Create a user and print its API token (the last line of output)."""
    from survey_service.services.accounts import create_user as create

    with _session(_settings()) as session:
        try:
            user, secret = create(session, name, role, countries, password)
            session.commit()
        except ServiceError as exc:
            raise _fail(exc) from exc
    scope = ", ".join(user.countries) or "all countries"
    click.echo(f"created {user.role} {user.name!r} (id {user.id}, {scope}); API token:")
    click.echo(secret)


@main.command("ensure-admin")
def ensure_admin() -> None:
    """Create the local admin account if no admin exists, printing its token once."""
    from survey_service.services.accounts import ensure_admin as ensure

    with _session(_settings()) as session:
        secret = ensure(session)
        session.commit()
    if secret is None:
        click.echo("an admin account exists already (create more with `create-user`)")
    else:
        click.echo("created the admin account 'admin'; its API token, shown only now:")
        click.echo(secret)


@main.command()
@click.option("--host", default=None, help="Address to listen on (SURVEY_HOST).")
@click.option("--port", default=None, type=int, help="Port (SURVEY_PORT).")
@click.option("--workers", default=None, type=int, help="Worker processes (SURVEY_WORKERS).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the API with granian: HTTP in Rust, the app in worker processes."""
    settings = _settings()  # fail here, once, on a bad configuration
    address, bind_port = host or settings.host, port or settings.port
    _refuse_a_busy_port(address, bind_port)  # before granian's import: a busy port fails fast

    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    from survey_service.build import stale_warnings

    for warning in stale_warnings():
        click.echo(f"warning: {warning}", err=True)
    server = Granian(
        "survey_service.wsgi:worker_app",
        factory=True,  # each worker builds its app from the same SURVEY_* environment
        address=address,
        port=bind_port,
        interface=Interfaces.WSGI,
        workers=workers or settings.workers,
        blocking_threads=settings.threads,
        websockets=False,
        log_level=LogLevels(settings.log_level.lower()),
        log_access=bool(settings.access_log),
        log_dictconfig=_access_log_config(settings.access_log),
        respawn_failed_workers=True,
        # a worker that ignores the stop signal (stuck in a request) is killed after 30 s
        workers_kill_timeout=30,
    )
    click.echo(f"serving on http://{address}:{bind_port}/api/v1 (docs: .../api/v1/docs)")
    server.serve()
    sys.exit(0)


def _refuse_a_busy_port(host: str, port: int) -> None:
    """Fail with a plain message when the address cannot be listened on: granian would start,
    then panic with a Rust backtrace. The probe binds as a server does, with SO_REUSEADDR, so
    a port whose earlier connections linger in TIME_WAIT counts as free; not SO_REUSEPORT,
    which would share the port with a server listening there. The probe closes before granian
    binds: a server taking the port in between still makes granian fail, only less plainly."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError):
        return  # granian reports an address it cannot resolve
    family, kind, proto, _, sockaddr = found[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
            probe.listen()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"port {port} on {host} is already in use: stop the server there, "
                    "or serve on another port (--port or SURVEY_PORT)"
                ) from None
            raise click.ClickException(
                f"cannot listen on port {port} on {host}: {exc.strerror or exc}"
            ) from None


def _access_log_config(target: str) -> dict[str, Any] | None:
    """Send granian's access log to a file (`-` or empty keep its default, standard output)."""
    from granian.log import LOGGING_CONFIG

    if target in ("", "-"):
        return None
    handler = {"formatter": "access", "class": "logging.FileHandler", "filename": target}
    # granian replaces its whole "handlers" section with ours: keep its console handler
    handlers = dict(cast(dict[str, Any], LOGGING_CONFIG["handlers"]), access=handler)
    return {"handlers": handlers}


if __name__ == "__main__":
    main()
