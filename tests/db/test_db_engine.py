"""Engines, sessions, readiness and the UTC timestamp type."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.orm import Session, sessionmaker

from calls.models import Call, CallDirection
from base.db import UtcDateTime, make_engine, utcnow, wait_until_ready
from hotline.stack.postgres import PostgresServer

MSK = timezone(timedelta(hours=3))


def test_sqlite_engine_creates_folder_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "hotline.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert path.parent.is_dir()
    finally:
        engine.dispose()


def test_utc_datetime_round_trip(db_url: str) -> None:
    table = Table(
        "stamps", MetaData(), Column("id", Integer, primary_key=True), Column("at", UtcDateTime)
    )
    moscow = datetime(2026, 1, 31, 23, 30, 15, 123456, tzinfo=MSK)
    engine = make_engine(db_url)
    try:
        table.create(engine)
        with engine.begin() as connection:
            connection.execute(insert(table), [{"id": 1, "at": moscow}, {"id": 2, "at": None}])
            rows = dict(connection.execute(select(table.c.id, table.c.at)).all())
            # A comparison in SQL sees the same instant, whatever zone the parameter is in.
            later = (
                connection.execute(
                    select(table.c.id).where(table.c.at > datetime(2026, 1, 31, 20, 30, tzinfo=UTC))
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    assert rows[1] == moscow
    assert rows[1].tzinfo is UTC
    assert rows[1] == datetime(2026, 1, 31, 20, 30, 15, 123456, tzinfo=UTC)
    assert rows[2] is None
    assert later == [1]


def test_utc_datetime_refuses_naive_values(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        session.add(
            Call(
                linkedid="naive",
                uniqueid="naive",
                pbx_node="pbx1",
                direction=CallDirection.INBOUND,
                channel="PJSIP/caller1-00000001",
                caller_number="+79990000001",
                called_number="8800",
                started_at=datetime(2026, 1, 1, 12, 0),  # no tzinfo
            )
        )
        with pytest.raises(Exception, match="naive datetime"):
            session.flush()


def test_utcnow_is_aware() -> None:
    assert utcnow().tzinfo is UTC


def test_wait_until_ready_answers(db_url: str) -> None:
    wait_until_ready(db_url, timeout=5)


def test_wait_until_ready_times_out_on_a_closed_port() -> None:
    from db_fixtures import free_port

    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/hotline?connect_timeout=1"
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="did not answer"):
        wait_until_ready(url, timeout=0.5, interval=0.1)
    assert time.monotonic() - started < 5


@pytest.mark.postgres
def test_postgres_server_is_reused_not_restarted(postgres_server: PostgresServer) -> None:
    again = PostgresServer(postgres_server.base_dir, postgres_server.port)
    with again:
        assert again.url == postgres_server.url
        assert again.url.endswith(f"127.0.0.1:{postgres_server.port}/hotline")
    # Leaving the block does not stop a server it did not start.
    assert postgres_server.is_running()
    wait_until_ready(postgres_server.url, timeout=5)


@pytest.mark.postgres
def test_postgres_server_refuses_another_port(postgres_server: PostgresServer) -> None:
    other = PostgresServer(postgres_server.base_dir, postgres_server.port + 1)
    with pytest.raises(RuntimeError, match="already runs"):
        other.start()


@pytest.mark.postgres
def test_postgres_server_explains_unreachable_folder(tmp_path: Path) -> None:
    # The suite runs as root (it starts the PBX in a chroot), as PostgresServer expects.
    # pytest's tmp_path sits under a 0700 folder owned by root.
    with pytest.raises(RuntimeError, match="cannot enter"):
        PostgresServer(tmp_path / "pg", 1).start()
