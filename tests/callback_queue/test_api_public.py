"""The website's form is the public surface: capped, validated, rate-limited also without Redis."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from base.clock import FixedClock
from base.settings import Settings
from callback_queue.exceptions import InvalidWindow
from callback_queue.routes import check_web_window, get_callback_settings
from callback_queue.settings import CallbackSettings
from db_fixtures import free_port
from hotline.db import upgrade
from operator_console.app import create_app

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # Tuesday 10:00 in Moscow: callbacks open
SECRET = "console-secret-for-tests"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'callbacks.db'}"
    upgrade(url)
    return url


def make_client(db_url: str, redis_url: str, tmp_path: Path, **limits: int) -> TestClient:
    settings = Settings(database_url=db_url, data_dir=tmp_path, redis_url=redis_url, redis_prefix="pub",
                        timezone="Europe/Moscow", console_secret_key=SECRET)
    app = create_app(settings, clock=FixedClock(NOW))
    app.dependency_overrides[get_callback_settings] = lambda: CallbackSettings(
        web_per_ip_per_minute=limits.get("ip", 100), web_per_phone_per_hour=limits.get("phone", 100),
        web_all_per_minute=limits.get("all", 100))
    return TestClient(app)


@pytest.fixture
def client(db_url: str, redis_url: str, aredis: aioredis.Redis, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(db_url, redis_url, tmp_path) as client:
        yield client


# ---- size --------------------------------------------------------------------------------


def test_a_large_body_is_refused(client: TestClient) -> None:
    big = {"phone": "89991234567", "comment": "я" * 900, "padding": "x" * 5000}
    response = client.post("/api/callbacks", json=big)
    assert response.status_code == 413
    assert response.json()["error_id"] == "request-too-large"
    assert "слишком большая" in response.json()["message"]


def test_a_large_body_without_a_length_is_refused(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"phone": "89991234567", "comment": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    response = client.post("/api/callbacks", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


# ---- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "fragment"),
    [
        ("8 809 123-45-67", "платные номера (8-809)"),
        ("8 800 123-45-67", "бесплатные номера"),
        ("112", "Проверьте номер телефона"),
        ("+7 701 123 45 67", "российский номер"),  # Kazakhstan shares +7
    ],
)
def test_only_mobile_and_fixed_line_numbers(client: TestClient, phone: str, fragment: str) -> None:
    response = client.post("/api/callbacks", json={"phone": phone})
    assert response.status_code == 422, response.text
    assert response.json()["error_id"] == "invalid-phone"
    assert fragment in response.json()["message"]


@pytest.mark.parametrize("phone", ["8 (495) 123-45-67", "8 (8332) 12-34-56", "+7 912 345-67-89"])
def test_mobile_and_fixed_line_numbers_are_taken(client: TestClient, phone: str) -> None:
    assert client.post("/api/callbacks", json={"phone": phone}).status_code == 201


# ---- times ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ({"preferred_from": "2026-11-24T08:00"}, "«с» уже прошло"),
        ({"preferred_to": "2026-11-24T09:00"}, "уже прошло"),
        ({"preferred_from": "2026-12-30T10:00", "preferred_to": "2026-12-30T12:00"}, "не больше чем на 14 дней"),
        ({"preferred_from": "2026-11-25T02:00", "preferred_to": "2026-11-25T03:00"}, "мы не перезваниваем"),
        ({"preferred_from": "2026-11-29T12:00"}, "ближайшее время для звонка — 30.11 08:00"),  # Sunday
    ],
)
def test_preferred_times_must_be_sane(client: TestClient, when: dict[str, str], fragment: str) -> None:
    response = client.post("/api/callbacks", json={"phone": "89991234567", **when})
    assert response.status_code == 422, response.text
    assert response.json()["error_id"] == "invalid-preferred-time"
    assert fragment in response.json()["message"]


def test_a_sane_window_is_taken(client: TestClient) -> None:
    form = {"phone": "89991234567", "preferred_from": "2026-11-25T10:00", "preferred_to": "2026-11-25T12:00"}
    assert client.post("/api/callbacks", json=form).status_code == 201
    just_past = {"phone": "89991234568", "preferred_from": "2026-11-24T09:55"}  # a form left open
    assert client.post("/api/callbacks", json=just_past).status_code == 201


def test_window_rule_without_the_web() -> None:
    def always(at: datetime) -> datetime:
        return at

    check_web_window(None, None, NOW, always, max_days_ahead=14, past_grace=timedelta(minutes=15))
    with pytest.raises(InvalidWindow):
        check_web_window(NOW + timedelta(hours=2), NOW + timedelta(hours=1), NOW, always,
                         max_days_ahead=14, past_grace=timedelta(minutes=15))
    # a start just past, while closed: "as soon as possible", not refused
    closed_now = lambda at: NOW + timedelta(hours=10)  # noqa: E731
    check_web_window(NOW - timedelta(minutes=5), None, NOW, closed_now, max_days_ahead=14,
                     past_grace=timedelta(minutes=15))
    with pytest.raises(InvalidWindow, match="на 21 день вперёд"):
        check_web_window(NOW + timedelta(days=30), None, NOW, always, max_days_ahead=21,
                         past_grace=timedelta(minutes=15))
    with pytest.raises(InvalidWindow):  # closed for the next 30 days
        check_web_window(None, NOW + timedelta(days=1), NOW, lambda at: None,
                         max_days_ahead=14, past_grace=timedelta(minutes=15))


# ---- limits --------------------------------------------------------------------------------


def test_a_global_cap(db_url: str, redis_url: str, aredis: aioredis.Redis, tmp_path: Path) -> None:
    with make_client(db_url, redis_url, tmp_path, all=3) as client:
        codes = [client.post("/api/callbacks", json={"phone": f"+7999000000{i}"}).status_code
                 for i in range(5)]
        assert codes == [201, 201, 201, 429, 429]
        limited = client.post("/api/callbacks", json={"phone": "+79990000009"})
        assert limited.json()["details"]["scope"] == "all"


async def test_rate_limit_keys_are_hmacs_with_the_secret(client: TestClient, aredis: aioredis.Redis) -> None:
    assert client.post("/api/callbacks", json={"phone": "89991234567"}).status_code == 201
    keys = {k.decode() for k in await aredis.keys("pub:callbacks:rate:*")}
    phone_keys = [k for k in keys if ":phone:" in k]
    assert len(phone_keys) == 1
    plain = hashlib.sha256(b"+79991234567").hexdigest()
    assert plain[:20] not in phone_keys[0] and "9991234567" not in phone_keys[0]
    keyed = hmac.new(SECRET.encode(), b"+79991234567", hashlib.sha256).hexdigest()[:32]
    assert f":phone:{keyed}:" in phone_keys[0]
    assert not any("testclient" in k for k in keys)  # the client's address is keyed too


@pytest.fixture
def own_redis() -> Iterator[Settings]:
    """A Redis server of this test's own, to stop in the middle of it."""
    from hotline.stack import redis as redis_stack

    folder = Path(tempfile.mkdtemp(prefix="hotline-redis-", dir="/tmp"))
    settings = Settings(env="test", data_dir=folder, redis_port=free_port())
    redis_stack.start(settings)
    try:
        yield settings
    finally:
        redis_stack.stop(settings)
        shutil.rmtree(folder, ignore_errors=True)


def test_limits_hold_with_redis_stopped(db_url: str, tmp_path: Path, own_redis: Settings) -> None:
    from hotline.stack import redis as redis_stack

    with make_client(db_url, own_redis.redis_dsn, tmp_path, ip=4, phone=2, all=100) as client:
        assert client.post("/api/callbacks", json={"phone": "89991234567"}).status_code == 201
        redis_stack.stop(own_redis)
        assert client.post("/api/callbacks", json={"phone": "89991234567"}).status_code == 200
        by_number = client.post("/api/callbacks", json={"phone": "89991234567"})
        assert by_number.status_code == 429 and by_number.json()["details"]["scope"] == "phone"
        assert client.post("/api/callbacks", json={"phone": "89991234560"}).status_code == 201
        by_address = client.post("/api/callbacks", json={"phone": "89991234561"})
        assert by_address.status_code == 429 and by_address.json()["details"]["scope"] == "ip"


def test_the_global_cap_holds_without_redis(db_url: str, tmp_path: Path) -> None:
    with make_client(db_url, "redis://127.0.0.1:1/0", tmp_path, all=2) as client:
        codes = [client.post("/api/callbacks", json={"phone": f"+7999000000{i}"}).status_code
                 for i in range(3)]
    assert codes == [201, 201, 429]


def test_no_source_can_order_a_call_to_a_premium_rate_number(session_factory: object) -> None:
    from callback_queue.exceptions import InvalidPhone
    from callback_queue.models import CallbackSource
    from callback_queue.service import request_callback

    with session_factory() as s:  # type: ignore[operator]
        for source in CallbackSource:
            with pytest.raises(InvalidPhone):
                request_callback(s, "+78091234567", source, "test", now=NOW)
