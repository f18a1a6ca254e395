"""Reading account files: encodings, delimiters, column orders, XLSX, bad rows, merging."""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from account_files import sample_table, write_csv, write_xlsx

from accounts.adapters import (
    AccountRecord,
    BillingSource,
    CsvSource,
    RowError,
    SourceError,
    XlsxSource,
    open_source,
)
from accounts.demo import DEMO_CSV
from accounts.models import ReadingZone, Tariff


def _read(source: BillingSource) -> tuple[list[AccountRecord], list[RowError]]:
    records: list[AccountRecord] = []
    errors: list[RowError] = []
    for item in source.records():
        if isinstance(item, RowError):
            errors.append(item)
        else:
            records.append(item)
    return records, errors


def _comparable(records: list[AccountRecord]) -> list[dict[str, object]]:
    return sorted(
        (record.model_dump(exclude={"source"}) for record in records),
        key=lambda data: str(data["number"]),
    )


@pytest.fixture(scope="module")
def reference() -> list[dict[str, object]]:
    records, errors = _read(CsvSource(DEMO_CSV))
    assert errors == []
    return _comparable(records)


def test_sample_file_content() -> None:
    records, errors = _read(open_source(DEMO_CSV))
    assert errors == []
    assert len(records) == 10
    by_number = {record.number: record for record in records}

    first = by_number["430100000011"]
    assert first.holder_name == "Иванова Мария Петровна"
    assert first.phones == ("+79990000001", "+78332123456")
    assert first.balance == Decimal("-1523.40")
    assert first.balance_at == date(2026, 11, 1)
    assert first.timezone == "Europe/Kirov"
    assert first.rows == (2,)
    (meter,) = first.meters
    assert (meter.serial, meter.tariff, meter.digits) == ("011234567", Tariff.SINGLE, 5)
    assert meter.readings == {ReadingZone.TOTAL: Decimal("12345.000")}
    assert meter.readings_on == date(2026, 10, 25)

    three = by_number["430100000033"].meters[0]
    assert three.tariff is Tariff.THREE_ZONE
    assert set(three.readings) == {ReadingZone.PEAK, ReadingZone.SEMI_PEAK, ReadingZone.NIGHT}

    # Two rows of one account: both phones and both meters, in file order.
    merged = by_number["430100000044"]
    assert merged.rows == (5, 6)
    assert merged.phones == ("+79990000004", "+79123456789")
    assert [m.serial for m in merged.meters] == ["44567890", "44567891"]
    assert by_number["430100000099"].phones == ("+79990000009", "+78332654321")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
@pytest.mark.parametrize("delimiter", [";", ",", "\t"], ids=["semicolon", "comma", "tab"])
def test_encodings_and_delimiters(
    tmp_path: Path, reference: list[dict[str, object]], encoding: str, delimiter: str
) -> None:
    header, rows = sample_table()
    path = write_csv(tmp_path / "a.csv", header, rows, encoding=encoding, delimiter=delimiter)
    records, errors = _read(CsvSource(path))
    assert errors == []
    assert _comparable(records) == reference


def test_shuffled_columns_other_names_and_unknown_columns(
    tmp_path: Path, reference: list[dict[str, object]]
) -> None:
    header, rows = sample_table()
    english = {
        "Лицевой счёт": "Account",
        "ФИО": "name",
        "Адрес": "ADDRESS",
        "Часовой пояс": "TimeZone",
        "Телефон": "Phone",
        "Баланс": "balance",
        "Счётчик": "№ счетчика",
        "Показания день": "Показания (день)",
        "Показания": "показания",
    }
    header = [english.get(title, title) for title in header] + ["Примечание", ""]
    rows = [row + ["что-то своё", "x"] for row in rows]
    order = list(range(len(header)))
    random.Random(7).shuffle(order)
    path = write_csv(
        tmp_path / "shuffled.csv",
        [header[i] for i in order],
        [[row[i] for i in order] for row in rows],
    )
    records, errors = _read(CsvSource(path))
    assert errors == []
    assert _comparable(records) == reference


def test_xlsx_with_typed_cells(tmp_path: Path, reference: list[dict[str, object]]) -> None:
    header, rows = sample_table()
    typed: list[list[object]] = []
    for row in rows:
        cells: list[object] = list(row)
        cells[0] = int(row[0])  # Excel turned the account number into a number
        cells[6] = float(row[6].replace(" ", "").replace(",", "."))  # balance as a number
        cells[7] = datetime.strptime(row[7], "%d.%m.%Y")  # a real date cell
        cells[10] = int(row[10])
        typed.append(cells)
    path = write_xlsx(
        tmp_path / "accounts.xlsx", [["Выгрузка абонентов на 01.11.2026"], header, *typed]
    )
    records, errors = _read(open_source(path))
    assert isinstance(open_source(path), XlsxSource)
    assert errors == []
    # One title line above the header: every row number moves by one.
    assert _comparable(records) == [
        {**data, "rows": tuple(n + 1 for n in data["rows"])}  # type: ignore[attr-defined]
        for data in reference
    ]


def test_bad_rows_are_reported_and_good_rows_kept(tmp_path: Path) -> None:
    header = ["ЛС", "ФИО", "Телефон", "Баланс", "Счётчик", "Тариф", "Показания", "Показания день"]
    rows = [
        ["4301000001", "Хороший А.", "89120000001", "-10,00", "S1", "1", "100", ""],  # 2
        ["4301000002", "Плохой телефон", "12-34-56", "0", "", "", "", ""],  # 3
        ["4301000003", "Плохой баланс", "89120000003", "сто рублей", "", "", "", ""],  # 4
        ["", "Без счёта", "89120000004", "0", "", "", "", ""],  # 5
        ["43-01-0005", "Буквы", "89120000005", "0", "", "", "", ""],  # 6
        ["4301000006", "Без счётчика", "89120000006", "0", "", "", "150", ""],  # 7
        ["4301000007", "Не та зона", "89120000007", "0", "S7", "1", "", "200"],  # 8
        ["4301000001", "Другое ФИО", "89120000001", "-10,00", "", "", "", ""],  # 9: conflict
        ["", "", "", "", "", "", "", ""],  # 10: blank, skipped
        ["4301000008", "Хороший Б.", "+7 912 000-00-08", "5", "S8", "2", "", "300"],  # 11
    ]
    records, errors = _read(CsvSource(write_csv(tmp_path / "bad.csv", header, rows)))

    assert sorted(record.number for record in records) == ["4301000001", "4301000008"]
    reasons = {error.row: error.reason for error in errors}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert "«Телефон»" in reasons[3] and "12-34-56" in reasons[3]
    assert "«Баланс»" in reasons[4] and "сто рублей" in reasons[4]
    assert "не указан номер лицевого счёта" in reasons[5]
    assert "только из цифр" in reasons[6]
    assert "заводской номер" in reasons[7]
    assert "день" in reasons[8] and "однотарифный" in reasons[8]
    assert "строке 2" in reasons[9] and "ФИО" in reasons[9]
    assert str(errors[0]).startswith("строка ")


def test_debt_column_and_several_phone_columns(tmp_path: Path) -> None:
    header = ["Номер лицевого счёта", "Задолженность", "Телефон", "Телефон 2", "Мобильный телефон"]
    rows = [["001234567", "1 500,00", "8 (8332) 11-22-33", "", "89120000009"]]
    records, errors = _read(CsvSource(write_csv(tmp_path / "debt.csv", header, rows)))
    assert errors == []
    (record,) = records
    assert record.number == "001234567"
    assert record.balance == Decimal("-1500.00")
    assert record.phones == ("+78332112233", "+79120000009")


def test_file_without_account_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", ["ФИО", "Адрес"], [["Иванов", "Киров"]])
    with pytest.raises(SourceError, match="лицевого счёта"):
        list(CsvSource(path).records())


def test_duplicate_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", ["ЛС", "Лицевой счёт"], [["4301000001", "4301000001"]])
    with pytest.raises(SourceError, match="оставьте один"):
        list(CsvSource(path).records())


def test_unreadable_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"\.xls"):
        open_source(write_csv(tmp_path / "old.xls", ["ЛС"], []))
    with pytest.raises(SourceError, match="не найден"):
        open_source(tmp_path / "missing.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x98\x98\xff\x00")
    with pytest.raises(SourceError, match="кодировке"):
        list(CsvSource(binary).records())
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a workbook")
    with pytest.raises(SourceError, match="Excel"):
        list(XlsxSource(fake).records())


def test_record_validation_outside_files() -> None:
    record = AccountRecord.model_validate(
        {
            "number": "430100000011",
            "phones": ["8 (912) 345-67-89", "+79123456789"],
            "balance": "-1 234,56",
            "meters": [{"serial": "A1", "readings": {"day": "10", "night": "5"}}],
        }
    )
    assert record.phones == ("+79123456789",)
    assert record.meters[0].tariff is Tariff.DAY_NIGHT
    with pytest.raises(ValueError, match="не понять тариф"):
        AccountRecord.model_validate(
            {"number": "430100000011", "meters": [{"serial": "A1", "readings": {"night": "5"}}]}
        )
    with pytest.raises(ValueError, match="не помещаются"):
        AccountRecord.model_validate(
            {
                "number": "430100000011",
                "meters": [{"serial": "A1", "digits": 5, "readings": {"total": "123456"}}],
            }
        )


def test_xlsx_row_numbers_count_blank_rows(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "gaps.xlsx",
        [["ЛС", "Телефон"], ["4301000001", "89120000001"], [], [], ["4301000005", "12"]],
    )
    records, errors = _read(XlsxSource(path))
    assert [record.rows for record in records] == [(2,)]
    assert [error.row for error in errors] == [5]
