"""POST/GET /api/callbacks through the console app, on SQLite and a real Redis server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from callback_queue.models import CallbackOrder
from callback_queue.routes import get_callback_settings
from callback_queue.settings import CallbackSettings
from base.clock import FixedClock
from base.db import make_engine, make_session_factory
from hotline.db import upgrade
from base.settings import Settings
from operator_console.app import create_app

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # Tuesday 10:00 in Moscow: callbacks open
SUNDAY = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)  # 12:00 in Moscow: closed until Monday 8:00
FORM = {"phone": "8 (999) 123-45-67", "name": "Анна", "comment": "Вопрос по начислениям"}
STAFF_TOKEN = "staff-token-for-tests"
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}  # the form is public, reading orders is not


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'callbacks.db'}"
    upgrade(url)
    return url


def make_client(db_url: str, redis_url: str, tmp_path: Path, clock: FixedClock,
                **limits: int) -> TestClient:
    settings = Settings(database_url=db_url, data_dir=tmp_path, redis_url=redis_url,
                        redis_prefix="api", timezone="Europe/Moscow", staff_api_token=STAFF_TOKEN)
    app = create_app(settings, clock=clock)
    app.dependency_overrides[get_callback_settings] = lambda: CallbackSettings(
        web_per_ip_per_minute=limits.get("ip", 100), web_per_phone_per_hour=limits.get("phone", 100))
    return TestClient(app)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def client(db_url: str, redis_url: str, aredis: aioredis.Redis, tmp_path: Path,
           clock: FixedClock) -> Iterator[TestClient]:
    with make_client(db_url, redis_url, tmp_path, clock) as client:
        yield client


def orders(db_url: str) -> int:
    with make_session_factory(make_engine(db_url))() as s:
        return int(s.scalar(select(func.count()).select_from(CallbackOrder)) or 0)


def test_the_form_creates_an_order(client: TestClient, db_url: str) -> None:
    response = client.post("/api/callbacks", json=FORM)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "scheduled" and body["created"] is True
    assert body["phone"] == "+7 *** ***-**-67"  # masked: the full number never goes back out
    assert body["message"] == "Заявка принята. Специалист перезвонит вам в ближайшее время."
    with make_session_factory(make_engine(db_url))() as s:
        order = s.get(CallbackOrder, body["id"])
        assert order is not None
        assert (order.phone, order.name, order.comment) == ("+79991234567", "Анна", "Вопрос по начислениям")
        assert [t.actor for t in order.transitions] == ["web", "web"]


async def test_the_order_is_put_in_the_live_queue(client: TestClient, aredis: aioredis.Redis) -> None:
    body = client.post("/api/callbacks", json=FORM).json()
    assert await aredis.zscore("api:callbacks:due", str(body["id"])) == NOW.timestamp()


def test_out_of_hours_the_customer_is_told_when(db_url: str, redis_url: str, aredis: aioredis.Redis,
                                                tmp_path: Path) -> None:
    with make_client(db_url, redis_url, tmp_path, FixedClock(SUNDAY)) as client:
        body = client.post("/api/callbacks", json=FORM).json()
    assert body["message"] == "Заявка принята. Специалист перезвонит вам завтра после 08:00."


def test_preferred_time_without_offset_is_local(client: TestClient) -> None:
    form = {**FORM, "preferred_from": "2026-11-24T15:00", "preferred_to": "2026-11-24T17:00+03:00"}
    body = client.post("/api/callbacks", json=form).json()
    assert body["preferred_from"] == "2026-11-24T12:00:00Z"
    assert body["due_at"] == "2026-11-24T12:00:00Z"
    assert body["message"] == "Заявка принята. Специалист перезвонит вам сегодня после 15:00."


@pytest.mark.parametrize(
    ("form", "fragment"),
    [
        ({"phone": "12345"}, "Проверьте номер телефона"),
        ({"phone": "+1 415 555 2671"}, "российский номер"),
        ({"name": "Анна"}, "номер телефона: обязательное поле"),
        ({"phone": "89991234567", "comment": "я" * 1001}, "комментарий: слишком длинно"),
        ({"phone": "89991234567", "preferred_from": "завтра"}, "удобное время «с»: нужна дата"),
        ({"phone": "89991234567", "preferred_from": "2026-11-25T12:00+03:00",
          "preferred_to": "2026-11-25T10:00+03:00"}, "«с» должно быть раньше"),
    ],
)
def test_bad_forms_are_refused_in_russian(client: TestClient, db_url: str, form: dict[str, str],
                                          fragment: str) -> None:
    response = client.post("/api/callbacks", json=form)
    assert response.status_code == 422, response.text
    assert fragment in response.json()["message"]
    assert orders(db_url) == 0


def test_not_json_is_refused(client: TestClient) -> None:
    response = client.post("/api/callbacks", content=b"phone=1", headers={"Content-Type": "text/plain"})
    assert response.status_code == 422
    assert "JSON" in response.json()["message"]


def test_a_repeated_idempotency_key_returns_the_same_order(client: TestClient, db_url: str) -> None:
    first = client.post("/api/callbacks", json=FORM, headers={"Idempotency-Key": "k-1"})
    again = client.post("/api/callbacks", json={**FORM, "comment": "другое"}, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    assert again.json()["message"].startswith("Заявка уже принята.")
    other = client.post("/api/callbacks", json={"phone": "+79990000002"}, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 409 and other.json()["error_id"] == "idempotency-key-reused"
    assert orders(db_url) == 1


def test_one_open_order_per_number(client: TestClient, db_url: str) -> None:
    first = client.post("/api/callbacks", json=FORM)
    second = client.post("/api/callbacks", json={"phone": "+7 999 123 45 67", "comment": "Срочно"})
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"] and second.json()["created"] is False
    assert second.json()["message"].startswith("Заявка на этот номер уже есть")
    assert orders(db_url) == 1
    detail = client.get(f"/api/callbacks/{first.json()['id']}", headers=STAFF).json()
    assert [t["to_state"] for t in detail["transitions"]] == ["new", "scheduled", "scheduled"]
    assert "комментарий" in detail["transitions"][-1]["reason"]


def test_rate_limit_per_client_address(db_url: str, redis_url: str, aredis: aioredis.Redis,
                                       tmp_path: Path, clock: FixedClock) -> None:
    with make_client(db_url, redis_url, tmp_path, clock, ip=5) as client:
        codes = [client.post("/api/callbacks", json={"phone": f"+7999000000{i}"}).status_code
                 for i in range(7)]
        assert codes == [201] * 5 + [429] * 2
        limited = client.post("/api/callbacks", json=FORM)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) == 60  # the clock is at the window's start
        assert limited.json()["error_id"] == "too-many-requests"
        assert "Попробуйте ещё раз через 1 мин" in limited.json()["message"]
        clock.advance(seconds=60)  # the next window
        assert client.post("/api/callbacks", json=FORM).status_code == 201


def test_rate_limit_per_number(db_url: str, redis_url: str, aredis: aioredis.Redis,
                               tmp_path: Path, clock: FixedClock) -> None:
    with make_client(db_url, redis_url, tmp_path, clock, phone=3) as client:
        codes = [client.post("/api/callbacks", json={"phone": "89991234567"}).status_code for _ in range(4)]
        assert codes == [201, 200, 200, 429]
        limited = client.post("/api/callbacks", json={"phone": "+7 999 123-45-67"})  # the same number
        assert limited.status_code == 429 and limited.json()["details"]["scope"] == "phone"
        assert int(limited.headers["Retry-After"]) == 3600
        assert client.post("/api/callbacks", json={"phone": "89990000002"}).status_code == 201


async def test_phone_numbers_are_not_stored_in_redis_in_the_clear(client: TestClient,
                                                                  aredis: aioredis.Redis) -> None:
    client.post("/api/callbacks", json=FORM)
    keys = [k.decode() if isinstance(k, bytes) else str(k) for k in await aredis.keys("*")]
    assert keys and not any("9991234567" in k for k in keys)


def test_get_shows_state_and_transitions(client: TestClient) -> None:
    created = client.post("/api/callbacks", json=FORM).json()
    detail = client.get(f"/api/callbacks/{created['id']}", headers=STAFF)
    assert detail.status_code == 200
    body = detail.json()
    assert body["state"] == "scheduled" and body["state_text"] == "Ожидает звонка специалиста"
    assert body["source"] == "web" and body["phone"] == "+7 *** ***-**-67"
    assert [(t["from_state"], t["to_state"], t["actor"]) for t in body["transitions"]] == [
        (None, "new", "web"), ("new", "scheduled", "web")]
    missing = client.get("/api/callbacks/999", headers=STAFF)
    assert missing.status_code == 404 and missing.json()["error_id"] == "callback-not-found"


def test_without_redis_the_form_still_works(db_url: str, tmp_path: Path, clock: FixedClock) -> None:
    settings = Settings(database_url=db_url, data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings, clock=clock)) as client:
        response = client.post("/api/callbacks", json=FORM)
    assert response.status_code == 201
