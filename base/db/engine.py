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
    # The driver's own BEGIN is turned off: transactions start in `_sqlite_begin_immediate`.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    """Every transaction takes SQLite's write lock when it starts (BEGIN IMMEDIATE). A deferred
    transaction that reads and then writes (load the meter, insert the reading) fails at once
    with "database is locked" when another writer committed in between (WAL's stale snapshot:
    the busy timeout does not apply to it); an immediate one waits its turn instead."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; extra keyword arguments go to :func:`sqlalchemy.create_engine`.

    SQLite: the database file's folder is created, and every connection gets WAL journaling
    (readers do not block the writer), enforced foreign keys and a 5 s busy timeout.
    PostgreSQL: connections are checked before use, so a restarted server does not surface
    as an error in the first request after it.
    Both: ``hide_parameters``, so no bound value (a phone number) is in a log or an error;
    PostgreSQL's errors lose the ``DETAIL`` line that quotes the failing row.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    # Bound values (phone numbers, names) never reach logs or exception texts (152-FZ).
    kwargs.setdefault("hide_parameters", True)
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        connect_args: dict[str, Any] = {"check_same_thread": False}
        connect_args.update(kwargs.pop("connect_args", {}))
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "handle_error", _drop_row_details)
        return engine
    return create_engine(parsed, **kwargs)


def without_details(message: str) -> str:
    """A server error's text up to its ``DETAIL:`` part (which quotes row values)."""
    kept: list[str] = []
    for line in message.splitlines():
        if line.lstrip().startswith("DETAIL:"):
            break
        kept.append(line)
    return "\n".join(kept).rstrip()


def _drop_row_details(context: Any) -> None:
    """PostgreSQL quotes the offending row in an error's DETAIL ("Failing row contains
    (…, +79991234567, …)"): cut it from the texts that get logged. The driver's ``diag``
    still has it for code that asks."""
    original = context.original_exception
    text = str(original)
    if "DETAIL:" not in text:
        return
    kept = without_details(text)
    original.args = (kept,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None:
        wrapped.args = (f"({type(original).__module__}.{type(original).__name__}) {kept}",)


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
