"""The outages import (CSV/XLSX, the accounts' rules) and what may be said for an address."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outages.adapters import SourceError, parse_file
from outages.models import Outage, OutageDataset
from outages.service import (
    add_outage,
    data_state,
    delete_outage,
    for_address,
    import_file,
    locality_count,
    update_outage,
)

TZ = "Europe/Kirov"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 12:00 in Kirov
HEADER = ["Населённый пункт", "Улица", "Дома", "Начало", "Окончание", "Причина"]
ROWS = [
    ["г. Киров", "ул. Ленина", "1-15", "03.12.2026 09:00", "03.12.2026 17:00", "Ремонт ТП"],
    ["г. Киров", "Октябрьский пр-т", "101, 103", "04.12.2026 10:00", "04.12.2026 14:30", ""],
    ["г. Слободской", "", "", "05.12.2026 22:00", "06.12.2026 06:00", "Работы на подстанции"],
]
LENINA_12 = "г. Киров, ул. Ленина, д. 12, кв. 34"


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]], *,
              encoding: str = "utf-8", delimiter: str = ";") -> Path:
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
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def records(path: Path) -> list:
    return list(parse_file(path))


# ---- files -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "delimiter"), [
    ("utf-8", ";"), ("utf-8-sig", ";"), ("cp1251", ";"), ("utf-8", ","), ("cp1251", ","),
])
def test_csv_encodings_and_delimiters(tmp_path: Path, encoding: str, delimiter: str) -> None:
    path = write_csv(tmp_path / "o.csv", HEADER, ROWS, encoding=encoding, delimiter=delimiter)
    found = records(path)
    assert [r.locality_key for r in found] == ["киров", "киров", "слободской"]
    assert found[2].ends_at == datetime(2026, 12, 6, 6)


def test_english_headers_in_any_order_and_a_title_line(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(
        "Planned outages, December\n"
        "Reason;To;From;Houses;Street;City;Unknown\n"
        "Repair;03.12.2026 17:00;03.12.2026 09:00;1-15;ул. Ленина;Киров;x\n", encoding="utf-8")
    (record,) = records(path)
    assert (record.street_key, record.house_set.key, record.reason) == ("ул ленина", "1-15", "Repair")
    assert record.row == 3


def test_date_and_time_span_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", ["Город", "Улица", "Дата", "Время"],
                     [["Киров", "Ленина", "03.12.2026", "с 9.00 до 17.00"]])
    (record,) = records(path)
    assert (record.starts_at, record.ends_at) == (datetime(2026, 12, 3, 9), datetime(2026, 12, 3, 17))


def test_xlsx_with_spreadsheet_dates(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "o.xlsx", [
        HEADER, ["Киров", "ул. Ленина", "1-15", datetime(2026, 12, 3, 9), datetime(2026, 12, 3, 17), "x"],
    ])
    (record,) = records(path)
    assert record.starts_at == datetime(2026, 12, 3, 9)


def test_bad_rows_are_rejected_with_row_and_reason_good_rows_kept(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", HEADER, [
        ROWS[0],
        ["", "ул. Ленина", "1", "03.12.2026 09:00", "03.12.2026 17:00", ""],
        ["Киров", "ул. Ленина", "abc", "03.12.2026 09:00", "03.12.2026 17:00", ""],
        ["Киров", "ул. Ленина", "2", "03.12.2026 17:00", "03.12.2026 09:00", ""],
        ["Киров", "ул. Ленина", "2", "31.02.2026 09:00", "03.12.2026 09:00", ""],
        ["Киров", "ул. Ленина", "2", "03.12.2026", "03.12.2026 10:00", ""],
        ROWS[1],
    ])
    found = records(path)
    errors = {str(e).split(":")[0]: str(e) for e in found if not hasattr(e, "locality_key")}
    assert set(errors) == {"строка 3", "строка 4", "строка 5", "строка 6", "строка 7"}
    assert "не указан населённый пункт" in errors["строка 3"]
    assert "«Дома»" in errors["строка 4"] and "abc" in errors["строка 4"]
    assert "не позже начала" in errors["строка 5"]
    assert "не существует" in errors["строка 6"]
    assert "нет времени" in errors["строка 7"]
    assert len([r for r in found if hasattr(r, "locality_key")]) == 2


def test_a_file_without_the_needed_columns_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="населённого пункта"):
        records(write_csv(tmp_path / "a.csv", ["Улица", "Начало"], [["Ленина", "x"]]))
    with pytest.raises(SourceError, match="времени отключения"):
        records(write_csv(tmp_path / "b.csv", ["Город", "Улица"], [["Киров", "Ленина"]]))


def test_the_sample_file_imports_cleanly() -> None:
    from outages.samples import __file__ as samples

    found = records(Path(samples).parent / "outages_demo.csv")
    assert len(found) == 4 and all(hasattr(r, "locality_key") for r in found)


# ---- the import ------------------------------------------------------------------------------


def _import(session: Session, path: Path, now: datetime = NOW):  # type: ignore[no-untyped-def]
    report = import_file(session, path, tz=TZ, now=now)
    session.flush()
    return report


def test_import_stores_outages_and_when_the_data_was_loaded(session: Session, tmp_path: Path) -> None:
    report = _import(session, write_csv(tmp_path / "o.csv", HEADER, ROWS))
    assert (report.added, report.rejected) == (3, [])
    dataset = session.scalars(select(OutageDataset)).one()
    assert (dataset.source, dataset.loaded_at, dataset.file_name) == ("grid", NOW, "o.csv")
    first = session.scalars(select(Outage).order_by(Outage.starts_at)).first()
    assert first is not None
    assert first.starts_at == datetime(2026, 12, 3, 6, tzinfo=UTC)  # 09:00 in Kirov (UTC+3)


def test_reimport_changes_no_outage_and_a_new_file_replaces_the_list(
    session: Session, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "o.csv", HEADER, ROWS)
    _import(session, path)
    before = {(o.id, o.reason, o.starts_at) for o in session.scalars(select(Outage))}
    later = NOW + timedelta(hours=5)
    report = _import(session, path, later)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 3)
    assert {(o.id, o.reason, o.starts_at) for o in session.scalars(select(Outage))} == before
    assert session.scalars(select(OutageDataset)).one().loaded_at == later

    changed = [ROWS[0][:5] + ["Замена опор"], ROWS[2]]
    report = _import(session, write_csv(tmp_path / "o2.csv", HEADER, changed), later)
    assert (report.added, report.updated, report.removed) == (0, 1, 1)
    assert session.scalars(select(Outage.reason).order_by(Outage.starts_at)).first() == "Замена опор"


def test_hand_edits(session: Session) -> None:
    outage = add_outage(session, locality="Киров", street="ул. Ленина", houses="12",
                        starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=1, hours=2),
                        reason="Авария", tz=TZ, now=NOW)
    assert for_address(session, LENINA_12, NOW, tz=TZ).status == "found"
    update_outage(session, outage.id, houses="14")
    assert for_address(session, LENINA_12, NOW, tz=TZ).status == "unavailable"  # manual only
    with pytest.raises(ValueError):
        update_outage(session, outage.id, ends_at=outage.starts_at)
    delete_outage(session, outage.id)
    assert session.get(Outage, outage.id) is None


# ---- what may be said ------------------------------------------------------------------------


def test_the_outage_at_the_address_is_found_with_local_times(session: Session, tmp_path: Path) -> None:
    _import(session, write_csv(tmp_path / "o.csv", HEADER, ROWS))
    answer = for_address(session, LENINA_12, NOW, tz=TZ)
    assert answer.status == "found"
    (outage,) = answer.outages
    assert (outage.starts_at.hour, outage.ends_at.hour, outage.reason) == (9, 17, "Ремонт ТП")
    assert answer.loaded_at is not None and answer.loaded_at.hour == 12


def test_none_only_while_the_data_is_current(session: Session, tmp_path: Path) -> None:
    address = "г. Киров, ул. Ленина, д. 40"
    assert for_address(session, address, NOW, tz=TZ).status == "unavailable"  # no data at all
    _import(session, write_csv(tmp_path / "o.csv", HEADER, ROWS))
    assert for_address(session, address, NOW, tz=TZ).status == "none"
    stale = NOW + timedelta(hours=25)
    assert for_address(session, address, stale, tz=TZ).status == "unavailable"
    assert data_state(session, stale).reason == "stale"
    # a stale list still tells the outages it has, with the date it was loaded
    assert for_address(session, LENINA_12, stale, tz=TZ).status == "found"


def test_an_incomplete_import_is_not_current(session: Session, tmp_path: Path) -> None:
    bad = ["Киров", "ул. Мира", "abc", "03.12.2026 09:00", "03.12.2026 17:00", ""]
    _import(session, write_csv(tmp_path / "o.csv", HEADER, [*ROWS, bad]))
    assert data_state(session, NOW).reason == "incomplete"
    assert for_address(session, "г. Киров, ул. Мира, д. 1", NOW, tz=TZ).status == "unavailable"


def test_an_address_that_cannot_be_matched_is_said_so(session: Session, tmp_path: Path) -> None:
    _import(session, write_csv(tmp_path / "o.csv", HEADER, ROWS))
    assert for_address(session, "ул. Ленина 12", NOW, tz=TZ).status == "unknown_address"
    assert for_address(session, None, NOW, tz=TZ).status == "unknown_address"
    # a village address without a street, and an outage list by streets there
    _import(session, write_csv(tmp_path / "v.csv", HEADER, [
        ["д. Ивановка", "ул. Мира", "1-5", "03.12.2026 09:00", "03.12.2026 17:00", ""]]), NOW)
    assert for_address(session, "д. Ивановка, д. 5", NOW, tz=TZ).status == "unknown_address"


def test_past_outages_are_not_told(session: Session, tmp_path: Path) -> None:
    _import(session, write_csv(tmp_path / "o.csv", HEADER, ROWS))
    after = datetime(2026, 12, 3, 15, tzinfo=UTC)  # 18:00 in Kirov, the repair is over
    assert for_address(session, LENINA_12, after, max_age=timedelta(days=5), tz=TZ).status == "none"
    assert locality_count(session, "г. Киров", NOW) == 2


def test_the_locality_of_the_accounts_on_a_number(session: Session, tmp_path: Path) -> None:
    from outages.service import for_localities

    _import(session, write_csv(tmp_path / "o.csv", HEADER, ROWS))
    answer = for_localities(session, [LENINA_12, "Киров, Мира, 3"], NOW, tz=TZ)
    assert answer is not None and (answer.count, answer.current) == (2, True)
    assert for_localities(session, [LENINA_12, "г. Слободской, ул. Советская, д. 5"], NOW) is None
    assert for_localities(session, [LENINA_12, "где-то"], NOW) is None
    stale = for_localities(session, [LENINA_12], NOW + timedelta(days=2), tz=TZ)
    assert stale is not None and not stale.current
