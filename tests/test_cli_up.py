"""`hotline up`'s report (the stack itself is started in tests/e2e/test_stack_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline import cli
from hotline.stack import stack


@pytest.fixture
def up_without_a_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(stack, "start_all", lambda settings: stack.Started(
        None, started=["controller"], running=["redis", "asterisk", "console"]))  # type: ignore[arg-type]


def test_up_says_what_it_started_and_what_it_left_alone(up_without_a_stack: None) -> None:
    out = CliRunner().invoke(cli.app, ["up"])
    assert out.exit_code == 0, out.output
    assert "started: controller; already running, left alone: redis, asterisk, console" in out.output
    assert "'dev-sip-password'" in out.output  # the development password is no secret


def test_up_never_prints_a_real_sip_password(up_without_a_stack: None,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_SIP_PASSWORD", "Real-secret-0123456789")
    out = CliRunner().invoke(cli.app, ["up"])
    assert out.exit_code == 0, out.output
    assert "Real-secret-0123456789" not in out.output
    assert "password HOTLINE_SIP_PASSWORD" in out.output
