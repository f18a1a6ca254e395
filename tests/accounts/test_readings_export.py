"""`hotline readings-export`: a CSV for billing that a spreadsheet opens without running any
cell as a formula, paged with the same cursor as the API."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from accounts.demo import seed_demo
from accounts.models import Meter, ReadingSource
from accounts.service import record_reading
from base.db import make_engine, make_session_factory
from base.spreadsheet import safe_cell
from hotline.cli import app
from hotline.db import upgrade

EVIL_SERIAL = '=HYPERLINK("http://x")'


def test_safe_cell() -> None:
    for text in ("=1+2", "+7 *** ***-**-01", "-3", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell("Иванов") == "Иванов"
    assert safe_cell(Decimal("-1.5")) == "-1.5"  # numbers are data, never formulas
    assert safe_cell(None) == ""


def test_export_escapes_formula_cells_and_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'export.db'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    with sessions.begin() as s:
        seed_demo(s)
        meter = s.scalars(select(Meter).order_by(Meter.id)).first()
        assert meter is not None
        meter.serial = EVIL_SERIAL
        reading = record_reading(s, meter, meter.zones[0], Decimal(20000), ReadingSource.IVR_DTMF,
                                 taken_on=date(2026, 11, 24))
        reading.submitted_by = "+7 *** ***-**-01"
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    out = tmp_path / "readings.csv"
    result = CliRunner().invoke(app, ["readings-export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["exported"] == 1
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert rows[0]["meter_serial"] == "'" + EVIL_SERIAL
    assert rows[0]["submitted_by"] == "'+7 *** ***-**-01"
    assert rows[0]["value"] == "20000.000"
    again = CliRunner().invoke(app, ["readings-export", "--out", str(out), "--since", summary["next_cursor"]])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output.strip().splitlines()[-1])["exported"] == 0
    bad = CliRunner().invoke(app, ["readings-export", "--out", str(out), "--since", "x"])
    assert bad.exit_code != 0
