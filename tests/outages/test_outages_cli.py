"""`hotline outages import FILE` and `hotline outages list` against a real SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app

SAMPLE = Path(__file__).resolve().parents[2] / "outages" / "samples" / "outages_demo.csv"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOTLINE_TIMEZONE", "Europe/Kirov")
    return tmp_path


def test_import_twice_then_list(env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["outages", "import", str(SAMPLE)])
    assert first.exit_code == 0, first.output
    assert "новых 4" in first.output
    again = runner.invoke(app, ["outages", "import", str(SAMPLE)])
    assert again.exit_code == 0 and "новых 0" in again.output and "без изменений 4" in again.output
    listed = runner.invoke(app, ["outages", "list", "--all"])
    assert listed.exit_code == 0, listed.output
    assert "источник grid" in listed.output and "ул. Ленина, 1-15" in listed.output


def test_bad_rows_are_printed_and_the_exit_code_says_so(env: Path) -> None:
    path = env / "bad.csv"
    path.write_text("Город;Улица;Дома;Начало;Окончание\nКиров;Ленина;abc;01.12.2026 09:00;01.12.2026 10:00\n"
                    "Киров;Ленина;1;01.12.2026 09:00;01.12.2026 10:00\n", encoding="cp1251")
    result = CliRunner().invoke(app, ["outages", "import", str(path)])
    assert result.exit_code == 2
    assert "строка 2" in result.output and "abc" in result.output and "новых 1" in result.output


def test_an_unreadable_file_is_refused(env: Path) -> None:
    result = CliRunner().invoke(app, ["outages", "import", str(env / "missing.csv")])
    assert result.exit_code == 1 and "не найден" in result.output
