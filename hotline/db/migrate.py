"""Alembic, driven from code: the migrations ship inside the package, no alembic.ini needed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.orm import Session

from base.db.engine import make_engine

__all__ = ["MIGRATIONS_DIR", "alembic_config", "migrated_session", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (and at ``url`` if given).

    Use it for other Alembic commands, e.g.
    ``command.revision(alembic_config(url), "add x", autogenerate=True, rev_id="0002")``.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        # configparser interpolation: a literal '%' (URL-encoded passwords) must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (the newest by default)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
    finally:
        engine.dispose()


@contextmanager
def migrated_session(url: str) -> Iterator[Session]:
    """One transaction on the database at ``url``, migrated to the newest revision first
    (what each CLI command that reads or writes data opens)."""
    from base.db import make_engine, make_session_factory

    upgrade(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()
