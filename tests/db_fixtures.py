"""Database fixtures shared by tests/db and tests/accounts (their conftests import them).

- ``db_url``: an empty database, once on SQLite (a file in tmp_path) and once on PostgreSQL
  (a fresh schema per test on a private server started once per session, see
  :class:`hotline.stack.postgres.PostgresServer`). PostgreSQL cases carry the ``postgres``
  marker (``-m "not postgres"`` skips them) and fail, not skip, when PostgreSQL is not installed.
- ``engine``: the database migrated to head; ``session_factory``; ``session``.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from base.db import make_engine, make_session_factory
from hotline.db import upgrade
from hotline.stack.postgres import PostgresError, PostgresServer, find_pg_bin_dir

__all__ = [
    "BACKENDS",
    "db_url",
    "engine",
    "free_port",
    "postgres_server",
    "session",
    "session_factory",
]

TEST_DATABASE = "hotline_tests"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]

# One server per test session, even though two conftests import these fixtures (each
# import registers its own fixture definition): the server lives in the config's stash.
_SERVER_KEY = pytest.StashKey[PostgresServer | str]()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server(config: pytest.Config) -> PostgresServer | str:
    try:
        find_pg_bin_dir()
    except PostgresError as error:
        return f"PostgreSQL is needed for these tests ({error}): run `make setup`, or deselect them with -m 'not postgres'"
    # Not pytest's tmp_path: its 0700 parents keep the postgres OS user out.
    base_dir = Path(tempfile.mkdtemp(prefix="hotline-pg-", dir="/tmp"))
    base_dir.chmod(0o755)
    server = PostgresServer(base_dir, free_port(), durable=False)

    def cleanup() -> None:
        try:
            server.stop()
        finally:
            shutil.rmtree(base_dir, ignore_errors=True)

    config.add_cleanup(cleanup)
    server.start()
    return server


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> PostgresServer:
    stash = request.config.stash
    if _SERVER_KEY not in stash:
        stash[_SERVER_KEY] = _start_server(request.config)
    server = stash[_SERVER_KEY]
    if isinstance(server, str):
        pytest.fail(server)  # a skipped database test proves nothing
    return server


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (not migrated).

    On PostgreSQL, a fresh schema per test in one shared database, made the connection's
    search_path (10x faster than a database per test, and as isolated for these tests).
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'hotline.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    database_url = server.create_database(TEST_DATABASE, exist_ok=True)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_conninfo(server), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{database_url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(_conninfo(server), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _conninfo(server: PostgresServer) -> str:
    return f"host=127.0.0.1 port={server.port} user=postgres dbname={TEST_DATABASE}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The database migrated to head."""
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session
