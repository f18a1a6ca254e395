"""Who may call what: every route of the console app is either public or refused without
the staff token. The routes are enumerated from the app, so a new one cannot slip through."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Route

from base.settings import DEV_STAFF_TOKEN, Settings
from base.web import presented_token, token_matches
from hotline.db import upgrade
from operator_console.app import create_app

STAFF_TOKEN = "staff-token-for-access-tests"
BILLING_TOKEN = "billing-token-for-access-tests"

# The public surface: the website's callback form and a minimal health check. Nothing else.
PUBLIC = {("POST", "/api/callbacks"), ("GET", "/api/health")}
# Staff routes that billing's token opens too.
BILLING = {("GET", "/api/readings")}

WRONG = {
    "no header": {},
    "wrong bearer": {"Authorization": "Bearer not-the-token"},
    "empty bearer": {"Authorization": "Bearer "},
    "token without scheme": {"Authorization": STAFF_TOKEN},
    "wrong basic": {"Authorization": "Basic " + base64.b64encode(b"staff:nope").decode()},
    "basic without password": {"Authorization": "Basic " + base64.b64encode(STAFF_TOKEN.encode()).decode()},
    "prefix of the token": {"Authorization": "Bearer " + STAFF_TOKEN[:-1]},
    "development default": {"Authorization": "Bearer " + DEV_STAFF_TOKEN},
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, staff_api_token=STAFF_TOKEN, billing_api_token=BILLING_TOKEN,
                        redis_url="redis://127.0.0.1:1/0")
    upgrade(settings.db_url)
    with TestClient(create_app(settings)) as client:
        yield client


def _flatten(route: BaseRoute) -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of a route; an included router (FastAPI >= 0.16x) is walked through."""
    if isinstance(route, Route):
        yield route.path, set(route.methods or ())
    elif hasattr(route, "effective_route_contexts"):
        for context in route.effective_route_contexts():
            original = context.original_route
            assert isinstance(original, Route), f"unexpected route type {original!r}"
            yield context.path, set(original.methods or ())
    else:
        raise AssertionError(f"unexpected route type {route!r}: is it guarded?")


def routes(client: TestClient) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        for path, methods in _flatten(route):
            found.extend((method, path) for method in sorted(methods) if method != "HEAD")
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_route_list_is_what_this_test_knows(client: TestClient) -> None:
    paths = routes(client)
    assert PUBLIC <= set(paths)
    assert ("GET", "/api/calls") in paths and ("GET", "/api/callbacks/{order_id}") in paths
    assert {("GET", "/docs"), ("GET", "/redoc"), ("GET", "/openapi.json"), ("GET", "/")} <= set(paths)


def test_every_staff_route_refuses_a_request_without_the_staff_token(client: TestClient) -> None:
    staff = [r for r in routes(client) if r not in PUBLIC]
    assert len(staff) >= 7
    for method, path in staff:
        for what, headers in WRONG.items():
            response = client.request(method, concrete(path), headers=headers)
            assert response.status_code == 401, (method, path, what, response.status_code)
            assert response.json()["error_id"] == "not-authenticated"
            challenges = response.headers.get_list("www-authenticate")
            assert [c.split()[0] for c in challenges] == ["Basic", "Bearer"]
        billing = client.request(method, concrete(path), headers={"Authorization": f"Bearer {BILLING_TOKEN}"})
        if (method, path) in BILLING:
            assert billing.status_code != 401, (method, path)
        else:
            assert billing.status_code == 401, (method, path, "billing token")


def test_the_staff_token_opens_every_staff_route(client: TestClient) -> None:
    bearer = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    basic = {"Authorization": "Basic " + base64.b64encode(f"staff:{STAFF_TOKEN}".encode()).decode()}
    for method, path in routes(client):
        if (method, path) in PUBLIC:
            continue
        for headers in (bearer, basic):
            response = client.request(method, concrete(path), headers=headers)
            assert response.status_code not in (401, 403), (method, path, response.status_code)


def test_public_routes_stay_open(client: TestClient) -> None:
    assert client.get("/api/health").status_code == 200
    form = client.post("/api/callbacks", json={"phone": "8 912 345-67-89"})
    assert form.status_code in (200, 201), form.text


def test_docs_are_for_staff(client: TestClient) -> None:
    bearer = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    schema = client.get("/openapi.json", headers=bearer).json()
    assert "/api/callbacks" in schema["paths"] and "/api/readings" in schema["paths"]
    assert "swagger" in client.get("/docs", headers=bearer).text.lower()


def test_token_parsing() -> None:
    assert presented_token("Bearer abc") == "abc"
    assert presented_token("bearer  abc ") == "abc"
    assert presented_token("Basic " + base64.b64encode(b"u:p:q").decode()) == "p:q"
    assert presented_token("Basic !!!") is None
    assert presented_token(None) is None
    assert token_matches("abc", "abc") and not token_matches("abc", "abd")
    assert not token_matches("", "") and not token_matches(None, "x")
    assert token_matches("ключ", "ключ")  # non-ASCII compared as bytes, not refused


def test_the_running_console_refuses_every_staff_route_without_the_token(tmp_path: Path) -> None:
    """The console as `hotline console` runs it (its own process, real HTTP on a port)."""
    import httpx

    from db_fixtures import free_port
    from hotline.stack import procs
    from hotline.stack.stack import start_console

    settings = Settings(env="test", data_dir=tmp_path, console_port=free_port(), staff_api_token=STAFF_TOKEN,
                        billing_api_token=BILLING_TOKEN, redis_url="redis://127.0.0.1:1/0")
    upgrade(settings.db_url)
    with TestClient(create_app(settings)) as local:
        paths = routes(local)
    start_console(settings)
    try:
        base = f"http://127.0.0.1:{settings.console_port}"
        with httpx.Client(base_url=base, timeout=10) as http:
            for method, path in paths:
                if (method, path) in PUBLIC:
                    continue
                for headers in ({}, {"Authorization": "Bearer wrong"}):
                    response = http.request(method, concrete(path), headers=headers)
                    assert response.status_code == 401, (method, path, headers)
                allowed = http.request(method, concrete(path), headers={"Authorization": f"Bearer {STAFF_TOKEN}"})
                assert allowed.status_code not in (401, 403), (method, path)
            assert http.get("/api/health").status_code == 200
            assert http.post("/api/callbacks", json={"phone": "8 912 345-67-89"}).status_code == 201
    finally:
        procs.stop(settings.run_dir / "console.pid", timeout=15)
