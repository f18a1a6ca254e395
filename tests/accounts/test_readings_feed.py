"""Billing's feed of readings (accounts.service.readings_since) never skips a reading and never
gives one twice, also while several writers commit out of id order on PostgreSQL."""

from __future__ import annotations

import random
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounts.demo import seed_demo
from accounts.models import Meter, MeterReading, ReadingSource
from accounts.service import ReadingCursor, readings_since, record_reading

DAY = date(2026, 11, 24)


def _meter_ids(session_factory: sessionmaker[Session]) -> list[int]:
    with session_factory.begin() as s:
        seed_demo(s)
    with session_factory() as s:
        return list(s.scalars(select(Meter.id).order_by(Meter.id)))


def _add(session: Session, meter_id: int, value: int) -> MeterReading:
    meter = session.get(Meter, meter_id)
    assert meter is not None
    return record_reading(session, meter, meter.zones[0], Decimal(value), ReadingSource.IVR_DTMF,
                          taken_on=DAY)


def _page(session_factory: sessionmaker[Session], cursor: ReadingCursor,
          limit: int = 1000) -> tuple[list[int], ReadingCursor]:
    with session_factory() as s:
        rows, cursor = readings_since(s, cursor, limit)
    return [r.id for r in rows], cursor


def test_cursor_text() -> None:
    assert ReadingCursor.parse("0") == ReadingCursor() == ReadingCursor.parse("")
    assert ReadingCursor.parse("812:45") == ReadingCursor(812, 45)
    assert str(ReadingCursor(812, 45)) == "812:45"
    for bad in ("45", "a:1", "1:", ":1", "-1:2", "1:2:3"):
        with pytest.raises(ValueError):
            ReadingCursor.parse(bad)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_reading_committed_late_behind_a_higher_id_is_not_skipped(
    session_factory: sessionmaker[Session],
) -> None:
    meter_id = _meter_ids(session_factory)[0]
    slow = session_factory()  # an IVR worker whose commit is late
    fast = session_factory()
    try:
        early = _add(slow, meter_id, 20000)  # the lower id, still uncommitted
        late = _add(fast, meter_id, 20010)
        fast.commit()
        assert early.id < late.id

        ids, cursor = _page(session_factory, ReadingCursor())
        # `id > cursor` paging would hand out the later row now and never the earlier one.
        assert late.id not in ids and early.id not in ids
        slow.commit()
        ids2, cursor = _page(session_factory, cursor)
        assert ids2 == [early.id, late.id]
        assert _page(session_factory, cursor)[0] == []
    finally:
        slow.close()
        fast.close()


def test_concurrent_writers_nothing_missed_nothing_twice(
    session_factory: sessionmaker[Session],
) -> None:
    meter_ids = _meter_ids(session_factory)
    writers, per_writer = 4, 25
    done = threading.Event()
    errors: list[BaseException] = []

    def write(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for n in range(per_writer):
                with session_factory.begin() as s:
                    _add(s, rng.choice(meter_ids), 30000 + seed * 1000 + n)
                    # hold the transaction open a little, so commits overtake each other
                    threading.Event().wait(rng.random() * 0.01)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    taken: list[int] = []

    def page() -> None:
        cursor = ReadingCursor()
        try:
            while not done.is_set():
                ids, cursor = _page(session_factory, cursor, limit=7)
                taken.extend(ids)
            while True:  # the writers are done: drain
                ids, cursor = _page(session_factory, cursor, limit=7)
                if not ids:
                    return
                taken.extend(ids)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    pager = threading.Thread(target=page)
    pager.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    done.set()
    pager.join(120)
    assert not errors, errors
    with session_factory() as s:
        written = set(s.scalars(select(MeterReading.id).where(MeterReading.source != ReadingSource.BILLING)))
    assert len(written) == writers * per_writer
    assert len(taken) == len(set(taken)), "a reading was given twice"
    assert set(taken) == written, f"missed: {sorted(written - set(taken))}"


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_billing_api_holds_back_an_unsettled_reading(
    db_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from base.settings import Settings
    from operator_console.app import create_app

    meter_id = _meter_ids(session_factory)[0]
    settings = Settings(database_url=db_url, data_dir=tmp_path, billing_api_token="b" * 20,
                        redis_url="redis://127.0.0.1:1/0")
    auth = {"Authorization": "Bearer " + "b" * 20}
    slow, fast = session_factory(), session_factory()
    try:
        with TestClient(create_app(settings)) as client:
            early = _add(slow, meter_id, 20000)
            late = _add(fast, meter_id, 20010)
            fast.commit()
            page = client.get("/api/readings", headers=auth).json()
            assert page["items"] == [] and page["next_cursor"] == "0:0"
            slow.commit()
            page = client.get("/api/readings", params={"cursor": page["next_cursor"]}, headers=auth).json()
            assert [i["id"] for i in page["items"]] == [early.id, late.id]
            again = client.get("/api/readings", params={"cursor": page["next_cursor"]}, headers=auth).json()
            assert again["items"] == [] and again["next_cursor"] == page["next_cursor"]
            bad = client.get("/api/readings", params={"cursor": "17"}, headers=auth)
            assert bad.status_code == 422 and bad.json()["error_id"] == "invalid-cursor"
    finally:
        slow.close()
        fast.close()
