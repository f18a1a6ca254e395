"""Planned outages: the import, hand edits, and what can truthfully be said for an address.

Functions take a :class:`~sqlalchemy.orm.Session` and never commit (as in accounts): the
caller owns the transaction. They flush.

Import rules (:func:`import_file`): a file is the whole current list of its source (the
grid company publishes its schedule, not changes to it). Outages are matched on place and
time; a matched one keeps its id (its reason and row are updated when they changed), new ones
are added, ones no longer listed are removed. Re-importing the same file changes no outage;
it does move the dataset's ``loaded_at`` forward, because the data is then known to be
current as of that moment — which is exactly what the IVR says ("данные на …").

What the IVR may say (:func:`for_address`):

- ``found``: the outages that cover the address (their dates and times), whatever the age of
  the data, with the date it was loaded;
- ``none``: only when every imported dataset was loaded completely (no rejected rows) within
  ``max_age`` and the address was read with confidence;
- ``unknown_address``: the customer's address could not be matched reliably;
- ``unavailable``: no data, or data too old or incomplete to say "none".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from outages.adapters import OutageRecord, RowError, parse_file
from outages.models import MANUAL_SOURCE, Outage, OutageDataset
from outages.parsing import Address, locality_key, parse_address, parse_houses, street_key

log = logging.getLogger("outages")

__all__ = [
    "DEFAULT_MAX_AGE",
    "AddressAnswer",
    "DataState",
    "ImportReport",
    "OutageInfo",
    "add_outage",
    "data_state",
    "delete_outage",
    "for_address",
    "import_file",
    "import_records",
    "for_localities",
    "locality_count",
    "update_outage",
    "upcoming",
]

DEFAULT_MAX_AGE = timedelta(hours=24)
DEFAULT_SOURCE = "grid"


@dataclass
class ImportReport:
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        return (f"строк: {self.rows}; отключений: новых {self.added}, изменено {self.updated}, "
                f"без изменений {self.unchanged}, снято {self.removed}; "
                f"отклонено строк: {len(self.rejected)}")


def _utc(local: datetime, tz: ZoneInfo) -> datetime:
    return local.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))


def _key(o: Outage) -> tuple[str, str, str, datetime, datetime]:
    return (o.locality_key, o.street_key, o.houses_key, o.starts_at, o.ends_at)


def _dataset(session: Session, source: str, tz: str, now: datetime) -> OutageDataset:
    dataset = session.scalar(select(OutageDataset).where(OutageDataset.source == source))
    if dataset is None:
        dataset = OutageDataset(source=source, timezone=tz, loaded_at=now)
        session.add(dataset)
        session.flush()
    return dataset


def import_records(
    session: Session,
    records: Iterable[OutageRecord | RowError],
    *,
    source: str = DEFAULT_SOURCE,
    tz: str,
    now: datetime,
    file_name: str | None = None,
) -> ImportReport:
    """Replace ``source``'s outages with these records (see the module docstring)."""
    if source == MANUAL_SOURCE:
        raise ValueError(f"«{MANUAL_SOURCE}» is for hand edits, not imports")
    zone = ZoneInfo(tz)
    report = ImportReport()
    wanted: dict[tuple, OutageRecord] = {}
    for item in records:
        report.rows += 1
        if isinstance(item, RowError):
            report.rejected.append(item)
            continue
        key = (item.locality_key, item.street_key or "", item.house_set.key,
               _utc(item.starts_at, zone), _utc(item.ends_at, zone))
        wanted[key] = item
    dataset = _dataset(session, source, tz, now)
    existing = {_key(o): o for o in session.scalars(
        select(Outage).where(Outage.dataset_id == dataset.id))}
    for key, outage in existing.items():
        if key not in wanted:
            session.delete(outage)
            report.removed += 1
    for key, record in wanted.items():
        outage = existing.get(key)
        if outage is None:
            session.add(Outage(
                dataset_id=dataset.id, locality=record.locality, street=record.street,
                houses=record.houses, locality_key=key[0], street_key=key[1], houses_key=key[2],
                starts_at=key[3], ends_at=key[4], reason=record.reason, source_row=record.row,
            ))
            report.added += 1
        else:
            if outage.source_row != record.row:
                outage.source_row = record.row  # moved in the file: not a change of the outage
            if (outage.reason, outage.locality, outage.street, outage.houses) != (
                record.reason, record.locality, record.street, record.houses
            ):
                outage.reason = record.reason
                outage.locality, outage.street, outage.houses = (record.locality, record.street,
                                                                 record.houses)
                report.updated += 1
            else:
                report.unchanged += 1
    dataset.timezone = tz
    dataset.loaded_at = now
    dataset.file_name = file_name
    dataset.rows = report.rows
    dataset.rejected = len(report.rejected)
    session.flush()
    report.rejected.sort(key=lambda error: error.row)
    log.info("outages from %s: %s", source, report.summary())
    return report


def import_file(
    session: Session, path: Path | str, *, source: str = DEFAULT_SOURCE, tz: str, now: datetime
) -> ImportReport:
    """Import a CSV or XLSX file of planned outages; :class:`SourceError` when unreadable."""
    records = list(parse_file(path))  # a SourceError surfaces before anything is changed
    return import_records(session, records, source=source, tz=tz, now=now,
                          file_name=Path(path).name[:255])


# ---- hand edits (the console, later) ----------------------------------------------------------


def add_outage(
    session: Session,
    *,
    locality: str,
    street: str | None,
    houses: str | None,
    starts_at: datetime,
    ends_at: datetime,
    reason: str | None,
    tz: str,
    now: datetime,
) -> Outage:
    """An outage entered by hand (aware datetimes). ValueError (Russian) on bad input."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("starts_at and ends_at must be timezone-aware")
    if ends_at <= starts_at:
        raise ValueError("окончание отключения должно быть позже начала")
    house_set = parse_houses(houses)
    dataset = _dataset(session, MANUAL_SOURCE, tz, now)
    outage = Outage(
        dataset_id=dataset.id, locality=locality.strip(), street=(street or "").strip() or None,
        houses=None if house_set.whole else houses, locality_key=locality_key(locality),
        street_key=street_key(street) or "", houses_key=house_set.key,
        starts_at=starts_at, ends_at=ends_at, reason=(reason or "").strip() or None,
    )
    session.add(outage)
    session.flush()
    return outage


def update_outage(session: Session, outage_id: int, **changes: object) -> Outage:
    """Change an outage's place, time or reason (keys as in :func:`add_outage`)."""
    outage = session.get(Outage, outage_id)
    if outage is None:
        raise LookupError(f"отключение {outage_id} не найдено")
    if "locality" in changes:
        outage.locality = str(changes["locality"]).strip()
        outage.locality_key = locality_key(outage.locality)
    if "street" in changes:
        street = str(changes["street"] or "").strip() or None
        outage.street, outage.street_key = street, street_key(street) or ""
    if "houses" in changes:
        house_set = parse_houses(changes["houses"])  # type: ignore[arg-type]
        outage.houses = None if house_set.whole else str(changes["houses"])
        outage.houses_key = house_set.key
    starts_at = changes.get("starts_at", outage.starts_at)
    ends_at = changes.get("ends_at", outage.ends_at)
    if ends_at <= starts_at:  # type: ignore[operator]
        raise ValueError("окончание отключения должно быть позже начала")
    for name in ("starts_at", "ends_at", "reason"):
        if name in changes:
            setattr(outage, name, changes[name])
    session.flush()
    return outage


def delete_outage(session: Session, outage_id: int) -> None:
    outage = session.get(Outage, outage_id)
    if outage is None:
        raise LookupError(f"отключение {outage_id} не найдено")
    session.delete(outage)
    session.flush()


# ---- what can be said -------------------------------------------------------------------------


@dataclass(frozen=True)
class DataState:
    """Is the outage data current? ``loaded_at``: the oldest imported dataset's load."""

    current: bool
    loaded_at: datetime | None
    reason: str  # "ok", "no_data", "stale", "incomplete"


def data_state(session: Session, now: datetime, max_age: timedelta = DEFAULT_MAX_AGE) -> DataState:
    datasets = session.scalars(
        select(OutageDataset).where(OutageDataset.source != MANUAL_SOURCE)).all()
    if not datasets:
        return DataState(False, None, "no_data")
    oldest = min(d.loaded_at for d in datasets)
    if any(d.rejected for d in datasets):
        return DataState(False, oldest, "incomplete")
    if now - oldest > max_age or oldest > now + timedelta(minutes=5):
        return DataState(False, oldest, "stale")
    return DataState(True, oldest, "ok")


@dataclass(frozen=True)
class OutageInfo:
    starts_at: datetime  # aware, in the dataset's local time
    ends_at: datetime
    reason: str | None


Status = Literal["found", "none", "unknown_address", "unavailable"]


@dataclass(frozen=True)
class AddressAnswer:
    status: Status
    outages: tuple[OutageInfo, ...] = ()
    loaded_at: datetime | None = None  # aware, in the data's local time
    detail: str = ""  # why (for the call trail): the data state or the address problem


def upcoming(session: Session, now: datetime, locality: str | None = None) -> Sequence[Outage]:
    """Outages not yet over, soonest first (of one locality key when given)."""
    query = (select(Outage).options(selectinload(Outage.dataset)).where(Outage.ends_at > now)
             .order_by(Outage.starts_at, Outage.id))
    if locality is not None:
        query = query.where(Outage.locality_key == locality)
    return session.scalars(query).all()


def _covers(outage: Outage, address: Address) -> bool | None:
    """True/False, or None when it cannot be told (the address has no street)."""
    if not outage.street_key:
        return True
    if address.street is None:
        return None
    if outage.street_key != address.street:
        return False
    return parse_houses(outage.houses_key).covers(address.house)


def _local(at: datetime, tz: str) -> datetime:
    return at.astimezone(ZoneInfo(tz))


def for_address(
    session: Session,
    address: str | None,
    now: datetime,
    max_age: timedelta = DEFAULT_MAX_AGE,
    tz: str = "Europe/Moscow",
) -> AddressAnswer:
    """What may truthfully be said about planned outages at a customer's address."""
    state = data_state(session, now, max_age)
    loaded = None if state.loaded_at is None else _local(state.loaded_at, tz)
    try:
        parsed = parse_address(address)
    except ValueError as error:
        return AddressAnswer("unknown_address", (), loaded, str(error))
    found: list[OutageInfo] = []
    unsure = False
    for outage in upcoming(session, now, parsed.locality):
        covered = _covers(outage, parsed)
        if covered is None:
            unsure = True
        elif covered:
            zone = outage.dataset.timezone
            found.append(OutageInfo(_local(outage.starts_at, zone), _local(outage.ends_at, zone),
                                    outage.reason))
    if found:
        return AddressAnswer("found", tuple(found), loaded, state.reason)
    if unsure:
        return AddressAnswer("unknown_address", (), loaded, "в адресе нет улицы")
    if state.current:
        return AddressAnswer("none", (), loaded, state.reason)
    return AddressAnswer("unavailable", (), loaded, state.reason)


def locality_count(session: Session, locality: str, now: datetime) -> int:
    """How many planned outages are still to come in a locality (any street)."""
    return len(upcoming(session, now, locality_key(locality)))


@dataclass(frozen=True)
class LocalityAnswer:
    """Planned outages still to come in one locality, and whether "none" may be said."""

    count: int
    current: bool
    loaded_at: datetime | None  # aware, local


def for_localities(
    session: Session,
    addresses: Sequence[str | None],
    now: datetime,
    max_age: timedelta = DEFAULT_MAX_AGE,
    tz: str = "Europe/Moscow",
) -> LocalityAnswer | None:
    """For a caller not identified yet: the outages in the locality of the accounts on their
    number, when all of those addresses name one locality (else None: nothing to say)."""
    localities = set()
    for address in addresses:
        try:
            localities.add(parse_address(address).locality)
        except ValueError:
            return None
    if len(localities) != 1:
        return None
    state = data_state(session, now, max_age)
    loaded = None if state.loaded_at is None else _local(state.loaded_at, tz)
    return LocalityAnswer(len(upcoming(session, now, localities.pop())), state.current, loaded)
