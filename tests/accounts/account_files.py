"""Helpers that rewrite the sample accounts file the ways back offices export it."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from accounts.demo import DEMO_CSV

Row = list[str]


def sample_table() -> tuple[Row, list[Row]]:
    """The sample file's header and data rows."""
    with DEMO_CSV.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream, delimiter=";"))
    return rows[0], rows[1:]


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    encoding: str = "utf-8",
    delimiter: str = ";",
) -> Path:
    with path.open("w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Абоненты"
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path
