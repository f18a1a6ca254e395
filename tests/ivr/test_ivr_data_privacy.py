"""A reading given in a call keeps its author masked (the audit needs no full number)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from accounts.demo import seed_demo
from accounts.models import Meter, MeterReading
from base.db import make_engine, make_session_factory
from hotline.db import upgrade
from ivr.services import IvrData


def test_the_reading_author_is_stored_masked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ivr.db'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    with sessions.begin() as s:
        seed_demo(s)
        meter = s.scalars(select(Meter).order_by(Meter.id)).first()
        assert meter is not None
        meter_id, zone = meter.id, meter.zones[0].value
    data = IvrData(sessions, workers=1)
    try:
        reading_id = data.store_reading(meter_id, zone, 1, "no-such-call", "79990000001")
    finally:
        data.close()
    with sessions() as s:
        reading = s.get(MeterReading, reading_id)
        assert reading is not None
        assert reading.submitted_by == "+7 *** ***-**-01"
