"""What the flows need from the database, as plain values (no ORM objects cross threads).

Flows run in the controller's event loop; these synchronous queries run in a small thread
pool of their own, so a slow query delays one caller, not the AMI reader or the others.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from accounts.models import Account, Meter, ReadingSource
from accounts.service import find_by_number, find_by_phone, last_readings, record_reading
from base.privacy import mask_phone
from calls.models import Call
from outages.service import (
    DEFAULT_MAX_AGE,
    AddressAnswer,
    LocalityAnswer,
    for_address,
    for_localities,
)
from ivr.readings import Previous

log = logging.getLogger("ivr")
T = TypeVar("T")


@dataclass(frozen=True)
class MeterView:
    id: int
    serial: str
    tariff: str
    digits: int
    zones: tuple[str, ...]
    last: dict[str, Previous]


@dataclass(frozen=True)
class AccountView:
    id: int
    number: str
    timezone: str
    balance: Decimal
    balance_at: date | None
    meters: tuple[MeterView, ...]
    address: str | None = None  # as billing wrote it; matched to outages (outages.parsing)

    @property
    def tail(self) -> str:
        """The last two digits, which identify the account to its holder without revealing it."""
        return self.number[-2:]


def _view(session: Session, account: Account) -> AccountView:
    meters = []
    for meter in sorted(account.meters, key=lambda m: m.id):
        last = {
            str(zone.value if hasattr(zone, "value") else zone): Previous(r.value, r.taken_on)
            for zone, r in last_readings(session, meter.id).items()
        }
        meters.append(
            MeterView(meter.id, meter.serial, str(meter.tariff.value if hasattr(meter.tariff, "value") else meter.tariff),
                      meter.digits, tuple(str(z.value if hasattr(z, "value") else z) for z in meter.zones), last)
        )
    return AccountView(account.id, account.number, account.timezone, account.balance, account.balance_at,
                       tuple(meters), account.address)


@dataclass(frozen=True)
class CallbackResult:
    """What became of a callback request: ``created`` (a new order), ``updated`` (the number's
    open order stays, updated), ``refused`` (``reason``: the error id, e.g. ``invalid-phone``)."""

    result: Literal["created", "updated", "refused"]
    order_id: int | None = None
    reason: str | None = None

    @property
    def booked(self) -> bool:
        return self.result in ("created", "updated")


class IvrData:
    def __init__(self, sessions: sessionmaker[Session], workers: int = 4,
                 outage_max_age: Callable[[], timedelta] | None = None) -> None:
        self.sessions = sessions
        # how old the outage data may be for "no outages at your address" (config "outages")
        self.outage_max_age = outage_max_age or (lambda: DEFAULT_MAX_AGE)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ivr-db")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- queries (run in the pool) -----------------------------------------------------------

    def accounts_by_phone(self, phone: str) -> list[AccountView]:
        with self.sessions() as s:
            return [_view(s, a) for a in find_by_phone(s, phone)]

    def account_by_number(self, number: str) -> AccountView | None:
        with self.sessions() as s:
            account = find_by_number(s, number)
            return None if account is None else _view(s, account)

    def account(self, account_id: int) -> AccountView | None:
        with self.sessions() as s:
            account = s.get(Account, account_id)
            return None if account is None else _view(s, account)

    def store_reading(self, meter_id: int, zone: str, value: int, linkedid: str, submitted_by: str,
                      source: str = ReadingSource.IVR_DTMF) -> int:
        """Store a reading given in a call (keyed, or spoken and confirmed: ``source``);
        ``submitted_by`` (the caller's number) is kept masked: the author is for the audit
        trail, and the call record (``call_id``) has the full number."""
        with self.sessions.begin() as s:
            meter = s.scalar(select(Meter).options(selectinload(Meter.account)).where(Meter.id == meter_id))
            if meter is None:
                raise LookupError(f"no meter {meter_id}")
            call_id = s.scalar(select(Call.id).where(Call.linkedid == linkedid))
            reading = record_reading(s, meter, zone, Decimal(value), ReadingSource(source), call_id=call_id)
            reading.submitted_by = mask_phone(submitted_by)
            s.flush()
            return int(reading.id)

    def link_call(self, linkedid: str, account_id: int) -> None:
        with self.sessions.begin() as s:
            call = s.scalar(select(Call).where(Call.linkedid == linkedid))
            if call is not None and call.account_id is None:
                call.account_id = account_id

    def request_callback(self, phone: str, source: str, account_id: int | None, linkedid: str,
                         now: Any) -> CallbackResult:
        """A callback order from the IVR (one open order per number: a repeat updates it), and
        what really happened. A number the callback domain refuses is ``refused`` with the
        error's id; anything else (the database down) raises."""
        from callback_queue.exceptions import CallbackError
        from callback_queue.service import request_callback

        try:
            with self.sessions.begin() as s:
                call_id = s.scalar(select(Call.id).where(Call.linkedid == linkedid))
                order, created = request_callback(s, phone, source, "ivr", account_id=account_id,
                                                  origin_call_id=call_id, now=now)
                order_id = int(order.id)
        except CallbackError as error:
            log.info("callback for %s refused: %s", mask_phone(phone), error.error_id)
            return CallbackResult("refused", reason=error.error_id)
        return CallbackResult("created" if created else "updated", order_id)

    def outages_at(self, address: str | None, now: datetime, tz: str) -> AddressAnswer:
        """What may be said about planned outages at this address (outages.service)."""
        with self.sessions() as s:
            return for_address(s, address, now, self.outage_max_age(), tz)

    def outages_in_locality(self, addresses: list[str | None], now: datetime,
                            tz: str) -> LocalityAnswer | None:
        """For a caller not identified yet: the outages in the one locality of these addresses."""
        with self.sessions() as s:
            return for_localities(s, addresses, now, self.outage_max_age(), tz)

    def call_id(self, linkedid: str) -> int | None:
        with self.sessions() as s:
            return s.scalar(select(Call.id).where(Call.linkedid == linkedid))


__all__ = ["AccountView", "CallbackResult", "IvrData", "MeterView"]
