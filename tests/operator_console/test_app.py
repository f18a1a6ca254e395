"""The console against a real (SQLite) database, migrated the way production is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from calls.models import Call, CallDirection, CallOutcome
from base.clock import FixedClock
from base.db import make_engine, make_session_factory
from hotline.db import upgrade
from base.settings import Settings
from operator_console.app import create_app

NOW = datetime(2025, 3, 3, 9, 10, 0, tzinfo=UTC)  # 12:10 in Moscow
CALLER = "+79991234501"
CUSTOMER = "89161234567"
STAFF_TOKEN = "staff-token-for-tests"
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    upgrade(url)
    return url


def make_client(url: str, tmp_path: Path) -> TestClient:
    settings = Settings(database_url=url, data_dir=tmp_path, timezone="Europe/Moscow",
                        staff_api_token=STAFF_TOKEN)
    return TestClient(create_app(settings, clock=FixedClock(NOW)), headers=STAFF)


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(db_url, tmp_path) as client:
        yield client


@pytest.fixture
def calls(db_url: str) -> None:
    engine = make_engine(db_url)
    started = datetime(2025, 3, 3, 9, 0, 0, tzinfo=UTC)
    with make_session_factory(engine)() as session:
        session.add(
            Call(
                linkedid="1741000000.1",
                uniqueid="1741000000.1",
                pbx_node="pbx1",
                direction=CallDirection.INBOUND,
                channel="PJSIP/trunk-00000001",
                caller_number=CALLER,
                caller_name=None,
                called_number="8800",
                started_at=started,
                answered_at=started + timedelta(seconds=5),
                ended_at=started + timedelta(seconds=125),
                outcome=CallOutcome.COMPLETED,
                hangup_cause=16,
                hangup_cause_text="Normal Clearing",
                recording_path="2025/03/03/1741000000.1.wav",
                disclosure_at=started + timedelta(seconds=1),
            )
        )
        session.add(
            Call(
                linkedid="1741000555.7",
                uniqueid="1741000555.7",
                pbx_node="pbx1",
                direction=CallDirection.OUTBOUND,
                channel="PJSIP/trunk-00000007",
                caller_number="88001000000",
                caller_name=None,
                called_number=CUSTOMER,
                started_at=NOW - timedelta(seconds=30),
            )
        )
        session.commit()
    engine.dispose()


def test_page_lists_latest_calls_with_masked_numbers(client: TestClient, calls: None) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<title>Горячая линия — консоль оператора</title>" in page
    assert "в разработке" in page
    assert "+7 *** ***-**-01" in page  # the inbound caller
    assert "+7 *** ***-**-67" in page  # the outbound callee
    for full in ("9991234501", "9161234567"):
        assert full not in page
    assert "03.03.2025 12:00:00" in page  # Moscow time
    assert "состоялся" in page and "2:05" in page and "есть" in page
    assert "идёт разговор" in page and "0:30" in page


def test_api_lists_calls_newest_first_masked(client: TestClient, calls: None) -> None:
    response = client.get("/api/calls", params={"limit": 20})
    assert response.status_code == 200
    assert "9991234501" not in response.text and "9161234567" not in response.text
    outbound, inbound = response.json()
    assert outbound["direction"] == "outbound"
    assert outbound["called"] == "+7 *** ***-**-67"
    assert outbound["in_progress"] is True and outbound["outcome"] is None
    assert outbound["duration_seconds"] == 30
    assert outbound["has_recording"] is False
    assert inbound["caller"] == "+7 *** ***-**-01"
    assert inbound["called"] == "8800"  # our own number, not personal data
    assert inbound["outcome"] == "completed" and inbound["outcome_text"] == "состоялся"
    assert inbound["duration_seconds"] == 125 and inbound["duration_text"] == "2:05"
    assert inbound["has_recording"] is True
    assert inbound["started_at_text"] == "03.03.2025 12:00:00"


def test_api_limit(client: TestClient, calls: None) -> None:
    assert len(client.get("/api/calls", params={"limit": 1}).json()) == 1
    assert client.get("/api/calls", params={"limit": 0}).status_code == 422
    assert client.get("/api/calls", params={"limit": 10_000}).status_code == 422


def test_empty_database(client: TestClient) -> None:
    assert client.get("/api/calls").json() == []
    assert "Звонков пока не было" in client.get("/").text


def test_health(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_broken_database_is_reported_not_raised(tmp_path: Path) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database file" * 100)
    with make_client(f"sqlite:///{broken}", tmp_path) as client:
        health = client.get("/api/health")
        assert health.status_code == 503
        assert health.json()["status"] == "degraded"
        assert health.json()["database"] == "unavailable"

        api = client.get("/api/calls")
        assert api.status_code == 503
        assert api.json()["error_id"] == "database-unavailable"

        page = client.get("/")
        assert page.status_code == 503
        assert "База данных недоступна" in page.text


def test_health_does_not_reveal_the_database(tmp_path: Path) -> None:
    url = "postgresql+psycopg://secretuser:secretpw@127.0.0.1:9/secretdb?connect_timeout=2"
    with make_client(url, tmp_path) as client:
        response = client.get("/api/health", headers={"Authorization": ""})
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "unavailable"}
    for secret in ("secretuser", "secretpw", "secretdb", "127.0.0.1", ":9", "postgresql", "psycopg"):
        assert secret not in response.text
