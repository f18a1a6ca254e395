"""Billing pulls the hotline's readings with a cursor and a token (real SQLite database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from accounts.demo import seed_demo
from accounts.models import Meter, ReadingSource
from accounts.service import record_reading
from base.db import make_engine, make_session_factory
from hotline.db import upgrade
from base.settings import Settings
from operator_console.app import create_app


def test_readings_since_cursor_with_token(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, billing_api_token="t" * 20)
    upgrade(settings.db_url)
    sessions = make_session_factory(make_engine(settings.db_url))
    with sessions.begin() as s:
        seed_demo(s)
        meter = s.scalars(select(Meter).order_by(Meter.id)).first()
        zone = meter.zones[0]
        r1 = record_reading(s, meter, zone, Decimal(20000), ReadingSource.IVR_DTMF, taken_on=date(2026, 11, 23))
        r1.submitted_by = "79990000001"
        record_reading(s, meter, zone, Decimal(20010), ReadingSource.IVR_DTMF, taken_on=date(2026, 11, 24))
    client = TestClient(create_app(settings))
    assert client.get("/api/readings").status_code == 401
    assert client.get("/api/readings", headers={"Authorization": "Bearer wrong"}).status_code == 401
    auth = {"Authorization": "Bearer " + "t" * 20}
    page = client.get("/api/readings?limit=1", headers=auth).json()
    assert [i["value"] for i in page["items"]] == ["20000.000"]
    assert page["items"][0]["submitted_by"] == "79990000001"
    page2 = client.get(f"/api/readings?cursor={page['next_cursor']}", headers=auth).json()
    assert [i["value"] for i in page2["items"]] == ["20010.000"]  # billing's own readings never come back
    page3 = client.get(f"/api/readings?cursor={page2['next_cursor']}", headers=auth).json()
    assert page3 == {"items": [], "next_cursor": page2["next_cursor"]}
