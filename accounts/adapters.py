"""The billing boundary: account data as billing systems and back offices export it.

A :class:`BillingSource` yields validated :class:`AccountRecord` objects and, for rows that
cannot be used, :class:`RowError` objects saying why (in Russian: back-office users read
them). Good rows are never dropped because of bad ones.

Files (:class:`CsvSource`, :class:`XlsxSource`, :func:`open_source`):

- CSV in UTF-8, UTF-8 with BOM or Windows-1251; delimiter ';', ',' or tab;
- XLSX (the first/active sheet);
- a header row naming the columns in Russian or English, any order, any case; unknown
  columns are ignored. See :data:`COLUMN_ALIASES`;
- one row per account, or several rows with the same account number (several phones,
  several meters): they are merged into one record;
- row numbers in errors are the file's rows as a spreadsheet shows them (header = row 1).

Problems with the file as a whole (unreadable, no account number column) raise
:class:`SourceError`.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from zipfile import BadZipFile

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from accounts.models import TARIFF_ZONES, ReadingZone, Tariff
from accounts.parsing import (
    Cell,
    cell_text,
    normalize_header,
    parse_account_number,
    parse_date,
    parse_digits,
    parse_money,
    parse_reading,
    parse_region_code,
    parse_tariff,
    parse_timezone,
    split_phones,
)

__all__ = [
    "COLUMN_ALIASES",
    "TARIFF_NAMES",
    "ZONE_NAMES",
    "AccountRecord",
    "BillingSource",
    "CsvSource",
    "MeterRecord",
    "RowError",
    "SourceError",
    "XlsxSource",
    "detect_delimiter",
    "detect_encoding",
    "merge_records",
    "open_source",
    "parse_rows",
]

HEADER_SEARCH_ROWS = 10  # a title line or two above the header is tolerated


class SourceError(ValueError):
    """The file as a whole cannot be read; the message (Russian) says what to do."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that was not imported. ``row`` is 1-based, the header being row 1."""

    row: int
    reason: str

    def __str__(self) -> str:
        return f"строка {self.row}: {self.reason}"


# ---- validated records ----------------------------------------------------------------------


class MeterRecord(BaseModel):
    """A meter as billing knows it, with its last readings (kWh per zone)."""

    model_config = ConfigDict(frozen=True)

    serial: str
    tariff: Tariff | None = None  # inferred from the readings' zones when not given
    digits: int | None = None
    installed_at: date | None = None
    next_verification: date | None = None
    readings: dict[ReadingZone, Decimal] = {}
    readings_on: date | None = None

    @field_validator("serial", mode="before")
    @classmethod
    def _serial(cls, value: Any) -> str:
        text = cell_text(value)
        if text is None:
            raise ValueError("не указан заводской номер счётчика")
        if len(text) > 32:
            raise ValueError(f"заводской номер счётчика «{text}» длиннее 32 знаков")
        return text

    @field_validator("tariff", mode="before")
    @classmethod
    def _tariff(cls, value: Any) -> Tariff | None:
        if value is None or isinstance(value, Tariff):
            return value
        return None if cell_text(value) is None else parse_tariff(value)

    @field_validator("digits", mode="before")
    @classmethod
    def _digits(cls, value: Any) -> int | None:
        return None if cell_text(value) is None else parse_digits(value)

    @field_validator("installed_at", "next_verification", "readings_on", mode="before")
    @classmethod
    def _date(cls, value: Any) -> date | None:
        return None if cell_text(value) is None else parse_date(value)

    @field_validator("readings", mode="before")
    @classmethod
    def _readings(cls, value: Any) -> dict[ReadingZone, Decimal]:
        if value is None:
            return {}
        return {
            ReadingZone(zone): parse_reading(reading)
            for zone, reading in dict(value).items()
            if cell_text(reading) is not None
        }

    @model_validator(mode="after")
    def _zones_fit_tariff(self) -> MeterRecord:
        zones = set(self.readings)
        if self.tariff is None and zones:
            object.__setattr__(self, "tariff", _infer_tariff(self.serial, zones))
        if self.tariff is not None:
            allowed = TARIFF_ZONES[self.tariff]
            extra = [zone for zone in self.readings if zone not in allowed]
            if extra:
                raise ValueError(
                    f"счётчик {self.serial}: показания «{_zone_names(extra)}» не подходят к "
                    f"тарифу «{TARIFF_NAMES[self.tariff]}», у него зоны: {_zone_names(allowed)}"
                )
        if self.digits is not None:
            limit = Decimal(10) ** self.digits
            for zone, reading in self.readings.items():
                if reading >= limit:
                    raise ValueError(
                        f"счётчик {self.serial}: показания {reading.normalize():f} "
                        f"({ZONE_NAMES[zone]}) не помещаются в {self.digits} разрядов"
                    )
        return self


class AccountRecord(BaseModel):
    """An account as a billing source delivers it, validated and normalised.

    ``None`` means "not given": on import it leaves the stored value as it is.
    ``balance`` follows :mod:`accounts.models`: money on the account, negative = debt.
    ``phones`` are E.164 and are the contract phones. ``rows`` are the file rows the
    record was built from (empty when it did not come from a file).
    """

    model_config = ConfigDict(frozen=True)

    number: str
    holder_name: str | None = None
    address: str | None = None
    region_code: str | None = None
    timezone: str | None = None
    balance: Decimal | None = None
    balance_at: date | None = None
    phones: tuple[str, ...] = ()
    meters: tuple[MeterRecord, ...] = ()
    source: str = "file"
    rows: tuple[int, ...] = ()

    @field_validator("number", mode="before")
    @classmethod
    def _number(cls, value: Any) -> str:
        return parse_account_number(value)

    @field_validator("holder_name", "address", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str | None:
        return cell_text(value)

    @field_validator("region_code", mode="before")
    @classmethod
    def _region(cls, value: Any) -> str | None:
        return None if cell_text(value) is None else parse_region_code(value)

    @field_validator("timezone", mode="before")
    @classmethod
    def _timezone(cls, value: Any) -> str | None:
        return None if cell_text(value) is None else parse_timezone(value)

    @field_validator("balance", mode="before")
    @classmethod
    def _balance(cls, value: Any) -> Decimal | None:
        return None if cell_text(value) is None else parse_money(value)

    @field_validator("balance_at", mode="before")
    @classmethod
    def _balance_at(cls, value: Any) -> date | None:
        return None if cell_text(value) is None else parse_date(value)

    @field_validator("phones", mode="before")
    @classmethod
    def _phones(cls, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return tuple(split_phones(value))
        phones: list[str] = []
        for item in value:
            for phone in split_phones(item):
                if phone not in phones:
                    phones.append(phone)
        return tuple(phones)

    @model_validator(mode="after")
    def _unique_meters(self) -> AccountRecord:
        serials = [meter.serial for meter in self.meters]
        duplicates = sorted({serial for serial in serials if serials.count(serial) > 1})
        if duplicates:
            raise ValueError(f"счётчик {', '.join(duplicates)} указан дважды")
        return self


TARIFF_NAMES: dict[Tariff, str] = {
    Tariff.SINGLE: "однотарифный",
    Tariff.DAY_NIGHT: "двухтарифный (день/ночь)",
    Tariff.THREE_ZONE: "трёхтарифный (пик/полупик/ночь)",
}
ZONE_NAMES: dict[ReadingZone, str] = {
    ReadingZone.TOTAL: "общие",
    ReadingZone.DAY: "день",
    ReadingZone.NIGHT: "ночь",
    ReadingZone.PEAK: "пик",
    ReadingZone.SEMI_PEAK: "полупик",
}


def _zone_names(zones: Iterable[ReadingZone]) -> str:
    return ", ".join(ZONE_NAMES[zone] for zone in zones)


def _infer_tariff(serial: str, zones: set[ReadingZone]) -> Tariff:
    """The tariff that the zones given imply; night alone fits two tariffs, so it does not."""
    if zones == {ReadingZone.TOTAL}:
        return Tariff.SINGLE
    if ReadingZone.DAY in zones and zones <= set(TARIFF_ZONES[Tariff.DAY_NIGHT]):
        return Tariff.DAY_NIGHT
    if zones & {ReadingZone.PEAK, ReadingZone.SEMI_PEAK} and zones <= set(
        TARIFF_ZONES[Tariff.THREE_ZONE]
    ):
        return Tariff.THREE_ZONE
    raise ValueError(
        f"счётчик {serial}: по показаниям «{_zone_names(sorted(zones))}» не понять тариф, "
        "заполните столбец «Тариф» (1, 2 или 3)"
    )


# ---- the billing boundary ---------------------------------------------------------------------


@runtime_checkable
class BillingSource(Protocol):
    """Where accounts come from: a file today, the billing system's API tomorrow."""

    name: str

    def records(self) -> Iterator[AccountRecord | RowError]:
        """Every account once, and a :class:`RowError` for every row that was refused."""
        ...


# ---- columns ----------------------------------------------------------------------------------

# Field -> header spellings, compared after normalize_header() (lowercase, ё→е, punctuation
# and underscores as spaces). Phone columns also match by prefix ("Телефон 2", "Phone (mob)").
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "number": (
        "лицевой счет", "лс", "л с", "номер лс", "номер л с", "номер лицевого счета",
        "лицевой счет номер", "лицевой", "account", "account number", "account no", "ls",
    ),
    "holder_name": (
        "фио", "ф и о", "абонент", "потребитель", "владелец", "фио абонента", "name",
        "holder", "holder name", "full name", "customer",
    ),
    "address": ("адрес", "адрес объекта", "адрес абонента", "address"),
    "region_code": ("регион", "код региона", "субъект", "region", "region code"),
    "timezone": ("часовой пояс", "пояс", "timezone", "time zone", "tz"),
    "phones": ("телефон", "телефоны", "тел", "phone", "phones", "mobile", "мобильный"),
    "balance": ("баланс", "сальдо", "остаток", "balance"),
    "debt": ("долг", "задолженность", "сумма долга", "сумма задолженности", "debt"),
    "balance_at": (
        "дата баланса", "баланс на дату", "дата сальдо", "дата долга", "дата задолженности",
        "balance date", "balance at", "balance on",
    ),
    "meter_serial": (
        "счетчик", "номер счетчика", "заводской номер", "заводской номер счетчика",
        "прибор учета", "номер прибора учета", "пу", "meter", "meter serial", "meter number",
        "serial",
    ),
    "meter_tariff": (
        "тариф", "зоны", "тарифность", "зонность", "количество зон", "zones", "tariff",
    ),
    "meter_digits": ("разрядность", "разрядов", "digits", "capacity"),
    "meter_installed_at": (
        "дата установки", "установлен", "installed", "installed at", "installed on",
    ),
    "meter_next_verification": (
        "дата поверки", "следующая поверка", "дата следующей поверки", "поверка",
        "очередная поверка", "next verification", "verification",
    ),
    "reading_total": (
        "показания", "показание", "показания общие", "показания итого", "reading",
        "readings", "reading total",
    ),
    "reading_day": (
        "показания день", "показание день", "показания т1", "день", "reading day", "day",
    ),
    "reading_night": (
        "показания ночь", "показание ночь", "ночь", "reading night", "night",
    ),
    "reading_peak": ("показания пик", "показание пик", "пик", "reading peak", "peak"),
    "reading_semi_peak": (
        "показания полупик", "показание полупик", "полупик", "reading semi peak",
        "semi peak", "semipeak",
    ),
    "readings_on": (
        "дата показаний", "дата показания", "показания на дату", "reading date",
        "readings date", "readings on",
    ),
}  # fmt: skip

_ALIAS_TO_FIELD: dict[str, str] = {
    alias: field for field, aliases in COLUMN_ALIASES.items() for alias in aliases
}
_PHONE_PREFIXES = ("телефон ", "тел ", "phone ", "мобильный ", "контактный телефон")
_READING_ZONES: dict[str, ReadingZone] = {
    "reading_total": ReadingZone.TOTAL,
    "reading_day": ReadingZone.DAY,
    "reading_night": ReadingZone.NIGHT,
    "reading_peak": ReadingZone.PEAK,
    "reading_semi_peak": ReadingZone.SEMI_PEAK,
}
_METER_FIELDS = {
    "meter_tariff": "tariff",
    "meter_digits": "digits",
    "meter_installed_at": "installed_at",
    "meter_next_verification": "next_verification",
    "readings_on": "readings_on",
}
_ACCOUNT_FIELDS = ("holder_name", "address", "region_code", "timezone", "balance_at")


def _field_for(header: str) -> str | None:
    if header in _ALIAS_TO_FIELD:
        return _ALIAS_TO_FIELD[header]
    if header.startswith(_PHONE_PREFIXES):
        return "phones"
    return None


@dataclass(frozen=True)
class _Header:
    row: int  # where the header is (1-based)
    columns: dict[int, str]  # column index -> field
    titles: dict[int, str]  # column index -> the header as written


def _find_header(row_number: int, cells: Sequence[Cell]) -> _Header | None:
    columns: dict[int, str] = {}
    titles: dict[int, str] = {}
    for index, cell in enumerate(cells):
        field = _field_for(normalize_header(cell))
        if field is not None:
            columns[index] = field
            titles[index] = cell_text(cell) or ""
    if "number" not in columns.values():
        return None
    seen: dict[str, int] = {}
    for index, field in columns.items():
        if field == "phones":
            continue
        if field in seen:
            raise SourceError(
                f"строка {row_number}: столбцы «{titles[seen[field]]}» и «{titles[index]}» "
                "означают одно и то же; оставьте один из них"
            )
        seen[field] = index
    if "balance" in seen and "debt" in seen:
        raise SourceError(
            f"строка {row_number}: есть и «{titles[seen['balance']]}», и "
            f"«{titles[seen['debt']]}»; оставьте один столбец (баланс: долг со знаком минус)"
        )
    return _Header(row=row_number, columns=columns, titles=titles)


def _error_text(error: ValidationError) -> str:
    messages: list[str] = []
    for item in error.errors():
        context = item.get("ctx") or {}
        cause = context.get("error")
        text = str(cause) if cause is not None else f"неверное значение ({item['msg']})"
        if text not in messages:
            messages.append(text)
    return "; ".join(messages)


def _row_record(
    header: _Header, row_number: int, cells: Sequence[Cell], source_name: str
) -> AccountRecord:
    """One data row as a record; ValueError (Russian, naming the column) when it is bad."""
    values: dict[str, Cell] = {}
    phones: list[tuple[int, Cell]] = []
    problems: list[str] = []
    for index, field in header.columns.items():
        value = cells[index] if index < len(cells) else None
        if cell_text(value) is None:
            continue
        if field == "phones":
            phones.append((index, value))
        else:
            values[field] = value

    def check(field: str, parse: Any) -> Any:
        value = values.get(field)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as error:
            title = header.titles[_index_of(header, field)]
            problems.append(f"«{title}»: {error}")
            return None

    number = check("number", parse_account_number)
    data: dict[str, Any] = {"number": number, "source": source_name, "rows": (row_number,)}
    for field, parse in (
        ("holder_name", cell_text),
        ("address", cell_text),
        ("region_code", parse_region_code),
        ("timezone", parse_timezone),
        ("balance_at", parse_date),
    ):
        data[field] = check(field, parse)
    if "balance" in values:
        data["balance"] = check("balance", parse_money)
    elif "debt" in values:
        debt = check("debt", parse_money)
        data["balance"] = None if debt is None else -debt
    phone_list: list[str] = []
    for index, value in phones:
        try:
            phone_list.extend(p for p in split_phones(value) if p not in phone_list)
        except ValueError as error:
            problems.append(f"«{header.titles[index]}»: {error}")
    data["phones"] = tuple(phone_list)

    meter: dict[str, Any] = {}
    for field, key in _METER_FIELDS.items():
        parsers: dict[str, Callable[[Cell], object]] = {
            "meter_tariff": parse_tariff,
            "meter_digits": parse_digits,
        }
        meter[key] = check(field, parsers.get(field, parse_date))
    readings: dict[ReadingZone, Decimal] = {}
    for field, zone in _READING_ZONES.items():
        reading = check(field, parse_reading)
        if reading is not None:
            readings[zone] = reading
    serial = cell_text(values.get("meter_serial"))
    if serial is None and (readings or any(v is not None for v in meter.values())):
        problems.append("есть данные счётчика, но не указан его заводской номер")
    if number is None and "number" not in values:
        problems.insert(0, "не указан номер лицевого счёта")
    if problems:
        raise ValueError("; ".join(problems))
    if serial is not None:
        data["meters"] = ({"serial": serial, "readings": readings, **meter},)
    try:
        return AccountRecord.model_validate(data)
    except ValidationError as error:
        raise ValueError(_error_text(error)) from None


def _index_of(header: _Header, field: str) -> int:
    return next(index for index, name in header.columns.items() if name == field)


_FIELD_NAMES = {
    "holder_name": "ФИО",
    "address": "адрес",
    "region_code": "регион",
    "timezone": "часовой пояс",
    "balance": "баланс",
    "balance_at": "дата баланса",
    "tariff": "тариф",
    "digits": "разрядность",
    "installed_at": "дата установки",
    "next_verification": "дата поверки",
    "readings_on": "дата показаний",
}


def _same(field: str, first: Any, second: Any) -> Any:
    if first is None:
        return second
    if second is None or first == second:
        return first
    raise ValueError(f"{_FIELD_NAMES[field]}: «{first}» и «{second}»")


def merge_records(first: AccountRecord, second: AccountRecord) -> AccountRecord:
    """Two rows of one account as one record; ValueError (Russian) when they disagree."""
    data: dict[str, Any] = {"number": first.number, "source": first.source}
    for field in (*_ACCOUNT_FIELDS, "balance"):
        data[field] = _same(field, getattr(first, field), getattr(second, field))
    data["phones"] = first.phones + tuple(p for p in second.phones if p not in first.phones)
    meters = {meter.serial: meter for meter in first.meters}
    for meter in second.meters:
        known = meters.get(meter.serial)
        if known is None:
            meters[meter.serial] = meter
            continue
        merged: dict[str, Any] = {"serial": meter.serial}
        for field in ("tariff", "digits", "installed_at", "next_verification", "readings_on"):
            merged[field] = _same(field, getattr(known, field), getattr(meter, field))
        readings = dict(known.readings)
        for zone, value in meter.readings.items():
            if zone in readings and readings[zone] != value:
                raise ValueError(
                    f"показания ({ZONE_NAMES[zone]}) счётчика {meter.serial}: "
                    f"{readings[zone].normalize():f} и {value.normalize():f}"
                )
            readings[zone] = value
        merged["readings"] = readings
        try:
            meters[meter.serial] = MeterRecord.model_validate(merged)
        except ValidationError as error:
            raise ValueError(_error_text(error)) from None
    data["meters"] = tuple(meters.values())
    data["rows"] = first.rows + second.rows
    try:
        return AccountRecord.model_validate(data)
    except ValidationError as error:
        raise ValueError(_error_text(error)) from None


def parse_rows(
    rows: Iterable[Sequence[Cell]], source_name: str
) -> Iterator[AccountRecord | RowError]:
    """Header detection, row validation and merging, shared by every file format.

    ``rows`` are the file's rows in order (row 1 first), each a sequence of cells. Errors
    are yielded as they are found; the merged records come at the end, in file order.
    """
    header: _Header | None = None
    merged: dict[str, AccountRecord] = {}
    for row_number, cells in enumerate(rows, start=1):
        if header is None:
            header = _find_header(row_number, cells)
            if header is None and row_number >= HEADER_SEARCH_ROWS:
                break
            continue
        if all(cell_text(cell) is None for cell in cells):
            continue
        try:
            record = _row_record(header, row_number, cells, source_name)
        except ValueError as error:
            yield RowError(row_number, str(error))
            continue
        known = merged.get(record.number)
        if known is None:
            merged[record.number] = record
            continue
        try:
            merged[record.number] = merge_records(known, record)
        except ValueError as error:
            yield RowError(
                row_number,
                f"противоречит строке {known.rows[0]} того же лицевого счёта "
                f"{record.number}: {error}",
            )
    if header is None:
        examples = "«Лицевой счёт», «ЛС» или «Account»"
        raise SourceError(
            f"не найдена строка заголовков со столбцом номера лицевого счёта ({examples}) "
            f"в первых {HEADER_SEARCH_ROWS} строках файла"
        )
    yield from merged.values()


# ---- files ------------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' (with or without BOM) if the whole file decodes so, else 'cp1251'."""
    for encoding in ("utf-8-sig", "cp1251"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise SourceError(
        f"файл {path.name} не в кодировке UTF-8 и не в Windows-1251: "
        "сохраните его из Excel как «CSV UTF-8 (разделитель — запятая)»"
    )


def detect_delimiter(first_line: str) -> str:
    """The most frequent of ';', ',' and tab in the header line (';' wins ties)."""
    counts = {delimiter: first_line.count(delimiter) for delimiter in (";", ",", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ";"))
    return best if counts[best] else ";"


class CsvSource:
    """Accounts from a CSV file as back offices export it (see the module docstring)."""

    def __init__(self, path: Path | str, *, name: str = "csv") -> None:
        self.path = Path(path)
        self.name = name

    def records(self) -> Iterator[AccountRecord | RowError]:
        encoding = detect_encoding(self.path)
        with self.path.open(encoding=encoding, newline="") as stream:
            sample = stream.read(64 * 1024)
            lines = [line for line in io.StringIO(sample) if line.strip()]
            delimiter = detect_delimiter(lines[0] if lines else "")
            stream.seek(0)
            reader = csv.reader(stream, delimiter=delimiter)
            try:
                yield from parse_rows(reader, self.name)
            except csv.Error as error:
                raise SourceError(
                    f"файл {self.path.name}, строка {reader.line_num}: не удалось разобрать "
                    f"CSV ({error}); проверьте кавычки в этой строке"
                ) from error


class XlsxSource:
    """Accounts from an Excel workbook (.xlsx): the active sheet, same columns as CSV."""

    def __init__(self, path: Path | str, *, name: str = "xlsx") -> None:
        self.path = Path(path)
        self.name = name

    def records(self) -> Iterator[AccountRecord | RowError]:
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            workbook = load_workbook(self.path, read_only=True, data_only=True)
        except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as error:
            raise SourceError(
                f"файл {self.path.name} не открывается как книга Excel .xlsx ({error})"
            ) from error
        try:
            sheet = workbook.active
            if sheet is None:
                raise SourceError(f"в файле {self.path.name} нет листов")
            sheet.reset_dimensions()
            rows = sheet.iter_rows(values_only=True)
            yield from parse_rows(rows, self.name)
        finally:
            workbook.close()


def open_source(path: Path | str) -> BillingSource:
    """A source for the file, chosen by its extension (.csv/.txt, .xlsx/.xlsm)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise SourceError(f"файл {path} не найден")
    if suffix in (".csv", ".txt"):
        return CsvSource(path)
    if suffix in (".xlsx", ".xlsm"):
        return XlsxSource(path)
    if suffix == ".xls":
        raise SourceError(
            f"файл {path.name}: старый формат .xls не поддерживается; "
            "сохраните его в Excel как .xlsx или CSV"
        )
    raise SourceError(f"файл {path.name}: нужен файл .csv или .xlsx")
