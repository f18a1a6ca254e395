"""HoursService reads the admin's documents through the config cache (a real SQLite database),
and `hotline hours …` writes them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from base import config_store
from hours import service as hours
from base.clock import FixedClock
from base.config_store import CachedConfig
from base.db import make_engine, make_session_factory
from hotline.db import upgrade
from hours.service import HoursService
from hotline.hours_cli import hours_app

MSK = "Europe/Moscow"
MOSCOW = ZoneInfo(MSK)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'hours.db'}"
    upgrade(url)
    return url


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


def write(sessions: sessionmaker[Session], key: str, doc: dict) -> None:  # type: ignore[type-arg]
    with sessions.begin() as session:
        config_store.write(session, key, doc, actor="test")


def test_defaults_without_documents(sessions: sessionmaker[Session]) -> None:
    service = HoursService(
        CachedConfig(sessions, ttl=0), FixedClock(datetime(2026, 11, 21, 12, tzinfo=MOSCOW))
    )
    assert service.schedule("operators") == hours.OPERATOR_HOURS
    assert service.schedule("callbacks") == hours.CALLBACK_HOURS
    assert not service.operators_open(MSK)  # Saturday
    assert service.callbacks_open(MSK)
    assert service.operators_open(MSK, at=datetime(2026, 11, 20, 12, tzinfo=MOSCOW))
    assert service.next_opening("operators", MSK) == datetime(2026, 11, 23, 8, tzinfo=MOSCOW)


def test_a_changed_document_takes_effect_without_restart(sessions: sessionmaker[Session]) -> None:
    clock = FixedClock(datetime(2026, 11, 21, 12, tzinfo=MOSCOW))  # Saturday noon
    service = HoursService(CachedConfig(sessions, ttl=0), clock)
    assert not service.operators_open(MSK)

    saturday = hours.with_weekly(hours.OPERATOR_HOURS, {5: (hours.parse_interval("10:00-16:00"),)})
    write(sessions, "hours.operators", hours.to_json(saturday))
    assert service.operators_open(MSK)

    write(
        sessions, "hours.operators", hours.to_json(hours.with_day_off(saturday, clock.now().date()))
    )
    assert not service.operators_open(MSK)
    assert service.schedule("operators").overrides.days_off == {clock.now().date()}


def test_the_cache_holds_a_document_for_its_ttl(sessions: sessionmaker[Session]) -> None:
    config = CachedConfig(sessions, ttl=3600)
    service = HoursService(config, FixedClock(datetime(2026, 11, 21, 12, tzinfo=MOSCOW)))
    assert not service.operators_open(MSK)
    write(sessions, "hours.operators", {"weekly": {"sat": ["10:00-16:00"]}})
    assert not service.operators_open(MSK)  # still cached
    config.invalidate()
    assert service.operators_open(MSK)


def test_an_invalid_document_fails_closed(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    """A broken schedule is never "the defaults" or "always open": closed, and logged."""
    monday_noon = datetime(2026, 11, 23, 12, tzinfo=MOSCOW)  # open by the defaults
    write(sessions, "hours.operators", {"weekly": {"mon": ["08:00-25:00"]}})
    service = HoursService(CachedConfig(sessions, ttl=0), FixedClock(monday_noon))
    with pytest.raises(hours.HoursError):
        service.schedule("operators")
    assert not service.operators_open(MSK)
    assert service.next_opening("operators", MSK) is None  # not known, not guessed
    assert "hours.operators is invalid" in caplog.text


def test_an_error_in_the_check_is_closed(sessions: sessionmaker[Session]) -> None:
    service = HoursService(CachedConfig(sessions, ttl=0),
                           FixedClock(datetime(2026, 11, 23, 12, tzinfo=MOSCOW)))
    assert service.operators_open(MSK)
    assert not service.operators_open("Nowhere/Atlantis")  # an unknown time zone: closed


# ---- the CLI --------------------------------------------------------------------------------


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOTLINE_TIMEZONE", MSK)
    return CliRunner()


def test_cli_edits_reach_the_service(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    service = HoursService(
        CachedConfig(sessions, ttl=0), FixedClock(datetime(2026, 11, 21, 12, tzinfo=MOSCOW))
    )

    result = cli.invoke(hours_app, ["set", "operators", "--sat", "10:00-16:00", "--sun", "-"])
    assert result.exit_code == 0, result.output
    assert service.operators_open(MSK)
    with sessions() as session:
        entry = session.get(config_store.ConfigEntry, "hours.operators")
        assert entry is not None and entry.updated_by.startswith("cli:")

    assert cli.invoke(hours_app, ["day-off", "operators", "21.11.2026"]).exit_code == 0
    assert not service.operators_open(MSK)
    assert cli.invoke(hours_app, ["clear", "operators", "2026-11-21"]).exit_code == 0
    assert service.operators_open(MSK)

    assert (
        cli.invoke(hours_app, ["short-day", "callbacks", "2026-11-21", "09:00-11:00"]).exit_code
        == 0
    )
    assert not service.callbacks_open(MSK)
    assert (
        cli.invoke(hours_app, ["work-day", "operators", "2026-11-22", "10:00-15:00"]).exit_code == 0
    )
    assert service.operators_open(MSK, at=datetime(2026, 11, 22, 12, tzinfo=MOSCOW))

    assert cli.invoke(hours_app, ["reset", "operators"]).exit_code == 0
    assert service.schedule("operators") == hours.OPERATOR_HOURS


def test_cli_rejects_bad_hours_in_russian(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    result = cli.invoke(hours_app, ["set", "operators", "--mon", "08:00-25:00"])
    assert result.exit_code == 1
    assert "понедельник: «08:00-25:00»: время 25:00 вне суток" in result.output
    result = cli.invoke(hours_app, ["short-day", "operators", "2026-11-21", "12:00-10:00"])
    assert result.exit_code == 1
    assert "начало должно быть раньше конца" in result.output
    result = cli.invoke(hours_app, ["day-off", "operators", "31.02.2026"])
    assert result.exit_code == 1
    assert "ожидается дата" in result.output
    with sessions() as session:
        assert config_store.read(session, "hours.operators") is None


def test_cli_show(cli: CliRunner) -> None:
    assert cli.invoke(hours_app, ["day-off", "operators", "2026-11-02"]).exit_code == 0
    result = cli.invoke(hours_app, ["show", "operators", "--from", "2026-11-01"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Часы работы операторов (изменено cli:" in out
    assert "  пн  08:00-20:00" in out
    assert "  сб  выходной" in out
    assert "02.11.2026 пн  выходной компании" in out
    assert "03.11.2026 вт  сокращённый" in out and "08:00-19:00" in out
    assert "04.11.2026 ср  праздник" in out and "День народного единства" in out
    assert "14.11.2026" in out and "15.11.2026" not in out
    both = cli.invoke(hours_app, ["show", "--from", "2026-11-01"])
    assert "Часы обратных звонков (по умолчанию)" in both.output
    assert "  сб  09:00-17:00" in both.output
