"""How the controller gets its dialer: on by default, off in the test stack, by setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from callback_queue.plugin import build_dialer, dialer_config
from callback_queue.settings import CallbackSettings
from base.clock import SystemClock
from base.db import make_engine, make_session_factory
from base.settings import Settings


class _Ami:
    def subscribe(self, handler: object, names: object = None) -> object:
        return lambda: None


def _build(settings: Settings, callbacks: CallbackSettings) -> object:
    sessions = make_session_factory(make_engine(settings.db_url))
    return build_dialer(settings, ami=_Ami(), sessions=sessions, redis=None,  # type: ignore[arg-type]
                        clock=SystemClock(), config={}, callbacks=callbacks)  # type: ignore[arg-type]


def test_the_dialer_runs_except_in_the_test_stack(tmp_path: Path) -> None:
    auto = CallbackSettings(dialer="auto")
    assert _build(Settings(env="development", data_dir=tmp_path), auto) is not None
    assert _build(Settings(env="test", data_dir=tmp_path), auto) is None
    assert _build(Settings(env="test", data_dir=tmp_path), CallbackSettings(dialer="on")) is not None
    assert _build(Settings(env="development", data_dir=tmp_path), CallbackSettings(dialer="off")) is None


def test_settings_reach_the_dialer(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, hotline_number="88001000000")
    config = dialer_config(settings, CallbackSettings(operators=[" operator1 ", "", "operator2"],
                                                      retry_delay_minutes=15, operator_ring_seconds=12))
    assert config.operators == ("operator1", "operator2")
    assert config.caller_id == "88001000000"
    assert config.retry_delay.total_seconds() == 900 and config.operator_ring_seconds == 12


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_CALLBACK_OPERATORS", '["operator3"]')
    monkeypatch.setenv("HOTLINE_CALLBACK_DIALER", "off")
    callbacks = CallbackSettings()
    assert callbacks.operators == ["operator3"] and not callbacks.dialer_enabled("production")
