"""Engines and sessions for SQLite (the embedded development default) and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["make_engine", "make_session_factory", "wait_until_ready"]

SQLITE_BUSY_TIMEOUT_MS = 5000


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; extra keyword arguments go to :func:`sqlalchemy.create_engine`.

    SQLite: the database file's folder is created, and every connection gets WAL journaling
    (readers do not block the writer), enforced foreign keys and a 5 s busy timeout.
    PostgreSQL: connections are checked before use, so a restarted server does not surface
    as an error in the first request after it.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        connect_args: dict[str, Any] = {"check_same_thread": False}
        connect_args.update(kwargs.pop("connect_args", {}))
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``.

    ``expire_on_commit=False``: objects stay readable after a commit (the AMI writer and the
    web handlers pass them on after committing); call ``session.refresh()`` to reload.
    """
    return sessionmaker(bind=engine, expire_on_commit=False)


def wait_until_ready(url: str, timeout: float = 30.0, interval: float = 0.2) -> None:
    """Poll ``SELECT 1`` until the database answers; ``TimeoutError`` after ``timeout`` s."""
    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return
            except DBAPIError as error:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"database {make_url(url).render_as_string(hide_password=True)} "
                        f"did not answer within {timeout:g} s: {error.orig!r}"
                    ) from error
                engine.dispose()
                time.sleep(interval)
    finally:
        engine.dispose()
