"""Planned outages from the grid company's or the retailer's file (CSV or XLSX).

The same import rules as accounts (:mod:`accounts.adapters`): CSV in UTF-8, UTF-8 with BOM or
Windows-1251, ';', ',' or tab between columns, or XLSX (the active sheet); a header row in
Russian or English, columns in any order, unknown columns ignored; a bad row is reported with
its row number (the header is row 1) and a reason in Russian, good rows are imported anyway.

Columns (see :data:`COLUMN_ALIASES`): the locality (required), the street (empty: the whole
locality), the houses (empty or «все»: the whole street), when — either the start and the end
(each a date and a time, or a time with a date column), or a date column and a time span
column («09:00-17:00»), or one period column («01.12.2026 09:00 - 01.12.2026 17:00») — and the
reason.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zipfile import BadZipFile

from accounts.adapters import RowError, SourceError, detect_delimiter, detect_encoding
from accounts.parsing import Cell, cell_text, normalize_header, parse_date
from outages.parsing import (
    HouseSet,
    locality_key,
    parse_houses,
    parse_moment,
    parse_period,
    street_key,
)

__all__ = [
    "COLUMN_ALIASES",
    "MAX_DURATION",
    "OutageRecord",
    "RowError",
    "SourceError",
    "parse_file",
    "parse_rows",
    "read_rows",
]

HEADER_SEARCH_ROWS = 10
MAX_DURATION = timedelta(days=31)  # a longer "planned outage" is a typo in a date
MAX_TEXT = 200

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "locality": (
        "населенный пункт", "нас пункт", "насел пункт", "н п", "город", "поселок",
        "город населенный пункт", "населенный пункт город", "locality", "city", "town",
        "settlement",
    ),
    "street": ("улица", "ул", "улица проспект", "street"),
    "houses": (
        "дома", "дом", "номера домов", "номер дома", "номера дома", "дома номера",
        "адреса домов", "houses", "house", "house numbers", "buildings",
    ),
    "date": ("дата", "дата отключения", "день", "date", "day"),
    "start": (
        "начало", "с", "дата начала", "дата и время начала", "время начала",
        "начало отключения", "отключение с", "from", "start", "starts", "start time", "begin",
    ),
    "end": (
        "окончание", "по", "до", "конец", "дата окончания", "дата и время окончания",
        "время окончания", "окончание отключения", "отключение до", "включение", "to",
        "end", "ends", "end time", "until",
    ),
    "period": (
        "время", "время отключения", "период", "период отключения", "дата и время",
        "дата и время отключения", "когда", "period", "time", "when",
    ),
    "reason": (
        "причина", "причина отключения", "вид работ", "работы", "комментарий", "примечание",
        "reason", "comment", "works",
    ),
}  # fmt: skip
_ALIAS_TO_FIELD = {alias: f for f, aliases in COLUMN_ALIASES.items() for alias in aliases}


@dataclass(frozen=True)
class OutageRecord:
    """One planned outage from a file row: where (keys and as written), when (local), why."""

    row: int
    locality: str
    locality_key: str
    street: str | None
    street_key: str | None
    houses: str | None
    house_set: HouseSet
    starts_at: datetime  # naive, the region's local time
    ends_at: datetime
    reason: str | None

    @property
    def key(self) -> tuple[str, str, str, datetime, datetime]:
        """What makes two rows the same outage (the reason is not part of it)."""
        return (self.locality_key, self.street_key or "", self.house_set.key, self.starts_at,
                self.ends_at)


@dataclass(frozen=True)
class _Header:
    row: int
    columns: dict[int, str]
    titles: dict[int, str]


def _find_header(row_number: int, cells: Sequence[Cell]) -> _Header | None:
    columns: dict[int, str] = {}
    titles: dict[int, str] = {}
    for index, cell in enumerate(cells):
        field = _ALIAS_TO_FIELD.get(normalize_header(cell))
        if field is None:
            continue
        if field in columns.values():
            first = next(titles[i] for i, f in columns.items() if f == field)
            raise SourceError(f"строка {row_number}: столбцы «{first}» и «{cell_text(cell)}» "
                              "означают одно и то же; оставьте один из них")
        columns[index] = field
        titles[index] = cell_text(cell) or ""
    fields = set(columns.values())
    if "locality" not in fields:
        return None
    if not ({"start", "end"} <= fields or "period" in fields):
        raise SourceError(
            f"строка {row_number}: нет столбцов времени отключения — нужны «Начало» и "
            "«Окончание» (или «Дата» и «Время» вида 09:00-17:00)"
        )
    return _Header(row_number, columns, titles)


def _text(value: Cell, title: str) -> str | None:
    text = cell_text(value)
    if text is not None and len(text) > MAX_TEXT:
        raise ValueError(f"«{title}»: слишком длинный текст (больше {MAX_TEXT} знаков)")
    return text


def _row_record(header: _Header, row_number: int, cells: Sequence[Cell]) -> OutageRecord:
    values: dict[str, Cell] = {}
    titles: dict[str, str] = {}
    for index, field in header.columns.items():
        values[field] = cells[index] if index < len(cells) else None
        titles[field] = header.titles[index]
    problems: list[str] = []

    def check(field: str, parse, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return parse(*args, **kwargs)
        except ValueError as error:
            problems.append(f"«{titles.get(field, field)}»: {error}")
            return None

    locality = cell_text(values.get("locality"))
    loc_key = check("locality", locality_key, locality) if locality else None
    if locality is None:
        problems.append(f"«{titles['locality']}»: не указан населённый пункт")
    street = cell_text(values.get("street"))
    st_key = check("street", street_key, street)
    houses_text = cell_text(values.get("houses"))
    house_set = check("houses", parse_houses, houses_text)
    if houses_text and street is None and house_set is not None and not house_set.whole:
        problems.append("указаны дома, но не указана улица")

    day = None
    if cell_text(values.get("date")) is not None:
        raw_day = values["date"]
        day = check("date", lambda v: v.date() if isinstance(v, datetime) else parse_date(v),
                    raw_day)
    period: tuple[datetime, datetime] | None = None
    if "start" in header.columns.values() and (
        cell_text(values.get("start")) is not None or "period" not in header.columns.values()
    ):
        start = check("start", parse_moment, values.get("start"), day=day, what="начало")
        end = None
        if start is not None:
            end = check("end", parse_moment, values.get("end"), day=start.date(),
                        what="окончание")
            raw_end = values.get("end")
            if end is not None and end <= start and (
                isinstance(raw_end, time) or (isinstance(raw_end, str) and _time_only(raw_end))
            ):
                end += timedelta(days=1)  # «22:00» after «01.12.2026 20:00»: the next morning
        if start is not None and end is not None:
            period = (start, end)
    else:
        period = check("period", parse_period, values.get("period"), day=day)
    if period is not None:
        start, end = period
        if end <= start:
            problems.append(f"окончание {end:%d.%m.%Y %H:%M} не позже "
                            f"начала {start:%d.%m.%Y %H:%M}")
        elif end - start > MAX_DURATION:
            problems.append(f"отключение длиннее {MAX_DURATION.days} дней: проверьте даты")
    reason = check("reason", _text, values.get("reason"), titles.get("reason", "причина"))
    if street is not None and len(street) > MAX_TEXT:
        problems.append("слишком длинное название улицы")
    if problems:
        raise ValueError("; ".join(problems))
    assert locality and loc_key and house_set is not None and period is not None
    return OutageRecord(
        row=row_number,
        locality=locality[:MAX_TEXT],
        locality_key=loc_key,
        street=street,
        street_key=st_key,
        houses=None if house_set.whole else houses_text,
        house_set=house_set,
        starts_at=period[0],
        ends_at=period[1],
        reason=reason,
    )


def _time_only(text: str) -> bool:
    return re.fullmatch(r"\s*\d{1,2}[:.]\d{2}\s*", text) is not None


def parse_rows(rows: Iterable[Sequence[Cell]]) -> Iterator[OutageRecord | RowError]:
    """Header detection and row validation. A row repeating an earlier one is skipped; one
    naming the same outage with another reason is rejected."""
    header: _Header | None = None
    seen: dict[tuple, OutageRecord] = {}
    for row_number, cells in enumerate(rows, start=1):
        if header is None:
            header = _find_header(row_number, cells)
            if header is None and row_number >= HEADER_SEARCH_ROWS:
                break
            continue
        if all(cell_text(cell) is None for cell in cells):
            continue
        try:
            record = _row_record(header, row_number, cells)
        except ValueError as error:
            yield RowError(row_number, str(error))
            continue
        known = seen.get(record.key)
        if known is not None:
            if known.reason != record.reason:
                yield RowError(row_number, f"то же отключение, что в строке {known.row}, "
                                           f"но с другой причиной: «{known.reason or ''}» и "
                                           f"«{record.reason or ''}»")
            continue
        seen[record.key] = record
        yield record
    if header is None:
        raise SourceError(
            "не найдена строка заголовков со столбцом населённого пункта («Населённый пункт», "
            f"«Город» или «Locality») в первых {HEADER_SEARCH_ROWS} строках файла"
        )


def read_rows(path: Path | str) -> Iterator[Sequence[Cell]]:
    """The rows of a CSV (encoding and delimiter detected as for accounts) or XLSX file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise SourceError(f"файл {path} не найден")
    if suffix in (".csv", ".txt"):
        yield from _csv_rows(path)
    elif suffix in (".xlsx", ".xlsm"):
        yield from _xlsx_rows(path)
    elif suffix == ".xls":
        raise SourceError(f"файл {path.name}: старый формат .xls не поддерживается; "
                          "сохраните его в Excel как .xlsx или CSV")
    else:
        raise SourceError(f"файл {path.name}: нужен файл .csv или .xlsx")


def _csv_rows(path: Path) -> Iterator[Sequence[Cell]]:
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as stream:
        sample = stream.read(64 * 1024)
        lines = [line for line in io.StringIO(sample) if line.strip()]
        # The header, not a title line above it, decides: the line richest in delimiters.
        header = max(lines[:HEADER_SEARCH_ROWS],
                     key=lambda line: max(line.count(d) for d in ";,\t"), default="")
        delimiter = detect_delimiter(header)
        stream.seek(0)
        reader = csv.reader(stream, delimiter=delimiter)
        try:
            yield from reader
        except csv.Error as error:
            raise SourceError(f"файл {path.name}, строка {reader.line_num}: не удалось разобрать "
                              f"CSV ({error}); проверьте кавычки в этой строке") from error


def _xlsx_rows(path: Path) -> Iterator[Sequence[Cell]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as error:
        raise SourceError(
            f"файл {path.name} не открывается как книга Excel .xlsx ({error})") from error
    try:
        sheet = workbook.active
        if sheet is None:
            raise SourceError(f"в файле {path.name} нет листов")
        sheet.reset_dimensions()
        yield from sheet.iter_rows(values_only=True)  # type: ignore[misc]
    finally:
        workbook.close()


def parse_file(path: Path | str) -> Iterator[OutageRecord | RowError]:
    return parse_rows(read_rows(path))

