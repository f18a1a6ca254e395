"""Nothing told that is not true (issue 6 §3): the balance with its date, outages only from
current data, the callback's real outcome, the configured hours, fail-closed hours and the
injected clock. The real FlowCall over a fake AGI that records what would be played."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from base.clock import FixedClock
from hours.service import OPERATOR_HOURS, Schedule, WeeklySchedule, next_opening
from ivr.context import FlowCall
from ivr.hotline import BALANCE, HOTLINE, OUTAGES, READINGS, in_hours
from ivr.readings import Previous
from ivr.services import AccountView, CallbackResult, MeterView
from ivr.telling import hours_sounds, outage_sounds
from outages.service import AddressAnswer, OutageInfo

KIROV = ZoneInfo("Europe/Kirov")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 12:00 in Kirov


class FakeAgi:
    """Records Playback/Read as the list of sounds played; answers Read from a script."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = list(keys)
        self.played: list[list[str]] = []
        self.last = ""

    async def exec(self, app: str, args: str) -> None:
        if app == "Playback":
            self.played.append([s.removeprefix("S/") for s in args.split("&")])
        elif app == "Read":
            self.played.append([s.removeprefix("S/") for s in args.split(",")[1].split("&")])
            self.last = self.keys.pop(0) if self.keys else ""
        else:
            self.played.append([f"{app}({args})"])

    async def get_variable(self, name: str) -> str:
        if name.startswith("QUEUE_WAITING_COUNT"):
            return "0"
        return self.last if name == "HOTLINE_INPUT" else ""

    def heard(self) -> list[str]:
        return [s for prompt in self.played for s in prompt]


@dataclass
class Notes:
    items: list[tuple[str, dict]] = field(default_factory=list)

    def note(self, linkedid: str, kind: str, **data: Any) -> None:
        self.items.append((kind, data))

    def of(self, kind: str) -> list[dict]:
        return [d for k, d in self.items if k == kind]


class FakeData:
    def __init__(self, answer: AddressAnswer | None = None, locality: Any = None,
                 accounts: tuple[AccountView, ...] = ()) -> None:
        self.answer = answer
        self.locality = locality
        self.accounts = list(accounts)
        self.asked: list[tuple] = []

    def accounts_by_phone(self, phone: str) -> list[AccountView]:
        return self.accounts

    def outages_in_locality(self, addresses: list, now: datetime, tz: str) -> Any:
        self.asked.append((tuple(addresses), now, tz))
        return self.locality

    async def run(self, fn, *args):  # type: ignore[no-untyped-def]
        return fn(*args)

    def outages_at(self, address: str | None, now: datetime, tz: str) -> AddressAnswer:
        self.asked.append((address, now, tz))
        assert self.answer is not None
        return self.answer

    def link_call(self, linkedid: str, account_id: int) -> None:
        pass


ACCOUNT = AccountView(1, "430100000011", "Europe/Kirov", Decimal("-1523.40"), date(2026, 11, 1), (),
                      "г. Киров, ул. Ленина, д. 12, кв. 34")


def make_call(keys: list[str], *, account: AccountView | None = ACCOUNT, data: Any = None,
              open_: bool = True, book: Any = None, hours: Any = None,
              now: datetime = NOW) -> tuple[FlowCall, FakeAgi, Notes]:
    agi, notes = FakeAgi(keys), Notes()

    async def no_booking(call: Any, source: str) -> Any:
        raise AssertionError("no callback expected")

    call = FlowCall(agi=agi, linkedid="l-1", caller="79990000001", sounds="S", notes=notes,
                    data=data or FakeData(), operators_open=lambda: open_,
                    book_callback=book or no_booking, clock=FixedClock(now),
                    timezone="Europe/Kirov", operator_hours=hours, account=account)
    return call, agi, notes


def steps(notes: Notes) -> list[str]:
    return [d["step"] for d in notes.of("flow")]


# ---- the balance, with its date -------------------------------------------------------------


async def test_the_balance_is_told_with_its_date() -> None:
    call, agi, notes = make_call([])
    assert await BALANCE.run(call) == "done"
    heard = agi.heard()
    # «По состоянию на первое ноября задолженность … составляет одна тысяча …»
    assert heard[:4] == ["bal_as_of", "w_ord_n_1", "digits/mon-10", "bal_debt"]
    assert notes.of("balance_date") == [{"as_of": "2026-11-01"}]


@pytest.mark.parametrize("balance_at", [None, date(2025, 1, 10), date(2026, 12, 5)],
                         ids=["no-date", "too-old-for-a-date-without-a-year", "in-the-future"])
async def test_a_balance_without_a_usable_date_is_not_presented_as_current(
        balance_at: date | None) -> None:
    call, agi, notes = make_call([], account=replace(ACCOUNT, balance_at=balance_at))
    assert await BALANCE.run(call) == "unavailable"
    assert agi.heard() == ["bal_unavailable"]
    assert "bal_debt" not in agi.heard()
    assert notes.of("balance")[0]["told"] is False


async def test_in_the_hotline_an_unavailable_balance_offers_the_operator() -> None:
    call, agi, notes = make_call(["2"], account=replace(ACCOUNT, balance_at=None))
    await HOTLINE.run(call)
    assert steps(notes)[-2:] == ["need_help", "operator"]


# ---- planned outages -----------------------------------------------------------------------


def answer(status: str, *outages: OutageInfo, loaded: datetime | None = NOW) -> AddressAnswer:
    return AddressAnswer(status, outages, None if loaded is None else loaded.astimezone(KIROV))  # type: ignore[arg-type]


def on(day: int, h1: int, h2: int) -> OutageInfo:
    return OutageInfo(datetime(2026, 12, day, h1, tzinfo=KIROV), datetime(2026, 12, day, h2, tzinfo=KIROV),
                      "Ремонт ТП")


async def test_an_outage_at_the_address_is_told_with_date_times_and_data_date() -> None:
    data = FakeData(answer("found", on(3, 9, 17)))
    call, agi, notes = make_call([], data=data)
    assert await OUTAGES.run(call) == "done"
    assert agi.heard() == [
        "out_at_address", "w_ord_n_3", "digits/mon-11", "w_from", "w_gen_9", "w_until", "w_gen_17",
        "out_data_of", "w_ord_n_1", "digits/mon-11",
    ]
    assert data.asked == [(ACCOUNT.address, NOW, "Europe/Kirov")]
    assert notes.of("outages")[0]["status"] == "found"


async def test_none_is_said_only_from_current_data_with_its_date() -> None:
    call, agi, _ = make_call([], data=FakeData(answer("none")))
    assert await OUTAGES.run(call) == "done"
    assert agi.heard() == ["out_none", "out_data_of", "w_ord_n_1", "digits/mon-11"]


@pytest.mark.parametrize(("status", "prompt"), [("unavailable", "out_unavailable"),
                                                ("unknown_address", "out_unknown_address")])
async def test_stale_absent_or_unmatched_is_never_none_and_offers_help(status: str, prompt: str) -> None:
    call, agi, notes = make_call([], data=FakeData(answer(status, loaded=None)))
    assert await OUTAGES.run(call) == "unavailable"
    assert agi.heard() == [prompt] and "out_none" not in agi.heard()
    # in the hotline: the operator in hours, the callback offer out of hours
    call, agi, notes = make_call(["3"], data=FakeData(answer(status)))
    await HOTLINE.run(call)
    assert steps(notes)[-2:] == ["need_help", "operator"]
    call, agi, notes = make_call(["3", "2"], data=FakeData(answer(status)), open_=False)
    await HOTLINE.run(call)
    assert "offer_callback" in steps(notes)


async def test_an_unidentified_caller_is_asked_to_identify() -> None:
    call, agi, notes = make_call(["2"], account=None, data=FakeData(answer("none")))
    assert await OUTAGES.run(call) == "menu"
    assert agi.heard() == ["out_need_id"]


async def test_an_unidentified_caller_hears_the_count_for_their_locality() -> None:
    from outages.service import LocalityAnswer

    loaded = NOW.astimezone(KIROV)
    data = FakeData(answer("found", on(3, 9, 17)), LocalityAnswer(2, True, loaded), (ACCOUNT,))
    call, agi, notes = make_call(["2"], account=None, data=data)
    assert await OUTAGES.run(call) == "menu"
    # the count, then (in the same question) the offer to identify for the address itself
    assert agi.played == [["out_locality_count", "digits/2", "out_data_of", "w_ord_n_1",
                           "digits/mon-11", "out_need_id"]]
    assert data.asked[0][0] == (ACCOUNT.address,)
    assert notes.of("outages") == [{"status": "locality", "count": 2, "current": True}]


@pytest.mark.parametrize(("current", "outcome", "heard"), [
    (True, "done", ["out_locality_none", "out_data_of", "w_ord_n_1", "digits/mon-11"]),
    (False, "menu", ["out_need_id"]),  # stale: no "none", only the offer to identify
])
async def test_none_in_the_locality_only_from_current_data(current: bool, outcome: str,
                                                           heard: list[str]) -> None:
    from outages.service import LocalityAnswer

    data = FakeData(None, LocalityAnswer(0, current, NOW.astimezone(KIROV)), (ACCOUNT,))
    call, agi, _ = make_call(["2"], account=None, data=data)
    assert await OUTAGES.run(call) == outcome
    assert agi.heard() == heard


def test_an_outage_across_midnight_and_across_days() -> None:
    night = outage_sounds(datetime(2026, 12, 5, 22, tzinfo=KIROV), datetime(2026, 12, 6, 0, tzinfo=KIROV))
    assert night[-3:] == ["hotline:w_until", "hotline:w_gen_20", "hotline:w_gen_4"]  # «до 24»
    days = outage_sounds(datetime(2026, 12, 5, 22, tzinfo=KIROV), datetime(2026, 12, 6, 6, tzinfo=KIROV))
    assert days[0] == "hotline:out_starts" and "hotline:out_ends" in days


# ---- callbacks: what really happened -------------------------------------------------------


@pytest.mark.parametrize(("result", "prompt", "outcome"), [
    (CallbackResult("created", 7), "cb_accepted", "booked"),
    (CallbackResult("updated", 7), "cb_updated", "booked"),
    (CallbackResult("refused", reason="invalid-phone"), "cb_refused_number", "failed"),
    (RuntimeError("database down"), "cb_failed", "failed"),
])
async def test_the_callback_prompt_says_what_happened(result: Any, prompt: str, outcome: str) -> None:
    async def book(call: Any, source: str) -> CallbackResult:
        if isinstance(result, Exception):
            raise result
        return result

    call, agi, notes = make_call(["4"], book=book)
    assert await HOTLINE.run(call) == "done"
    assert {"cb_accepted", "cb_updated", "cb_refused_number", "cb_failed"} & set(agi.heard()) == {prompt}
    assert steps(notes)[-2:] == ["callback", "goodbye"]
    from ivr.hotline import _callback

    call, agi, _ = make_call([], book=book)
    assert await _callback("ivr_menu")(call) == outcome


# ---- working hours: as configured, fail closed ---------------------------------------------


def test_the_out_of_hours_prompt_speaks_the_configured_hours() -> None:
    saturday_eve = datetime(2026, 12, 5, 21, tzinfo=KIROV)
    opening = next_opening(OPERATOR_HOURS, saturday_eve, "Europe/Kirov")
    sounds = hours_sounds(OPERATOR_HOURS, opening)
    assert sounds == [
        "hotline:hours_closed_now", "hotline:hours_work", "hotline:wd_from_0", "hotline:wd_to_4",
        "hotline:w_from", "hotline:w_gen_8", "hotline:w_until", "hotline:w_gen_20",
        "hotline:hours_next", "hotline:w_ord_n_7", "digits/mon-11", "hotline:w_from", "hotline:w_gen_8",
    ]
    custom = Schedule(WeeklySchedule.of({0: ["09:30-18:00"], 1: ["09:30-18:00"], 5: ["10:00-14:00"]}))
    assert hours_sounds(custom, None) == [
        "hotline:hours_closed_now", "hotline:hours_work", "hotline:wd_from_0", "hotline:wd_to_1",
        "hotline:w_from", "hotline:w_gen_9", "hotline:w_gen_30", "hotline:w_until", "hotline:w_gen_18",
        "hotline:wd_on_5", "hotline:w_from", "hotline:w_gen_10", "hotline:w_until", "hotline:w_gen_14",
    ]


async def test_the_after_hours_menu_is_prefaced_by_the_hours() -> None:
    opening = datetime(2026, 12, 7, 8, tzinfo=KIROV)
    call, agi, notes = make_call(["4"], open_=False, hours=lambda: (OPERATOR_HOURS, opening),
                                 book=lambda c, s: _created())
    await HOTLINE.run(call)
    first_question = agi.played[0]
    assert first_question[:3] == ["hours_closed_now", "hours_work", "wd_from_0"]
    assert first_question[-1] == "menu_after_hours"
    assert "w_gen_20" in first_question


async def _created() -> CallbackResult:
    return CallbackResult("created", 1)


async def test_unreadable_hours_are_said_as_unavailable_not_guessed() -> None:
    call, agi, _ = make_call(["4"], open_=False, hours=lambda: None, book=lambda c, s: _created())
    await HOTLINE.run(call)
    assert agi.played[0] == ["hours_unavailable_now", "menu_after_hours"]


async def test_an_error_in_the_hours_check_is_closed() -> None:
    def broken() -> bool:
        raise RuntimeError("schedule unreadable")

    call, _, _ = make_call([], open_=True)
    call.operators_open = broken
    assert in_hours(call) == "closed"


def test_the_controller_wiring_has_no_always_open_fallback(tmp_path: Any) -> None:
    from sqlalchemy.orm import Session

    from base.config_store import CachedConfig, write
    from base.db import make_engine, make_session_factory
    from base.settings import Settings
    from hotline.db import upgrade
    from hotline.wiring import operator_hours, operators_open

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    with sessions.begin() as s:
        assert isinstance(s, Session)
        write(s, "hours.operators", {"weekly": {"tue": ["08:00-25:00"]}}, actor="test")
    settings = Settings(timezone="Europe/Kirov")  # type: ignore[call-arg]
    config = CachedConfig(sessions, ttl=0)
    assert operators_open(settings, config, FixedClock(NOW))() is False  # Tuesday noon, broken
    assert operator_hours(settings, config, FixedClock(NOW))() is None


# ---- the injected clock ----------------------------------------------------------------------


async def test_readings_are_checked_against_the_clock_not_the_machine_date() -> None:
    """A previous reading 100 days before the clock's date: 3000 kWh is plausible. With the
    machine's date (years earlier) it would count as a jump in one day."""
    clock_now = datetime(2031, 4, 11, 9, tzinfo=UTC)
    meter = MeterView(5, "011234567", "single", 6, ("total",),
                      {"total": Previous(Decimal(10000), date(2031, 1, 1))})
    account = replace(ACCOUNT, meters=(meter,))
    call, agi, notes = make_call(["13000", "1"], account=account, now=clock_now)
    call.scratch.update(meter=meter, zones=["total"], zone_index=0)
    stored: list[int] = []

    def store_reading(meter_id: int, zone: str, value: int, linkedid: str, by: str) -> int:
        stored.append(value)
        return 1

    call.data.store_reading = store_reading  # type: ignore[attr-defined]
    assert call.today() == date(2031, 4, 11)
    assert await READINGS.run(call) == "done"
    assert stored == [13000]
    assert not [d for d in notes.of("readings") if d.get("result") == "implausible_jump"]



# ---- the database side: what really happened -------------------------------------------------


def test_request_callback_returns_what_really_happened(tmp_path: Any) -> None:
    from base.db import make_engine, make_session_factory
    from hotline.db import upgrade
    from ivr.services import IvrData

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    data = IvrData(make_session_factory(make_engine(url)))
    try:
        first = data.request_callback("+79990000001", "ivr_menu", None, "l-1", NOW)
        again = data.request_callback("89990000001", "ivr_after_hours", None, "l-2", NOW)
        refused = data.request_callback("12-34", "ivr_menu", None, "l-3", NOW)
    finally:
        data.close()
    assert (first.result, first.booked) == ("created", True)
    assert (again.result, again.order_id) == ("updated", first.order_id)
    assert (refused.result, refused.reason, refused.booked) == ("refused", "invalid-phone", False)


def test_outages_at_an_account_address_from_the_database(tmp_path: Any) -> None:
    from base.db import make_engine, make_session_factory
    from hotline.db import upgrade
    from ivr.services import IvrData
    from outages.adapters import parse_rows
    from outages.service import import_records

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    rows = [["Город", "Улица", "Дома", "Начало", "Окончание"],
            ["Киров", "Ленина", "1-15", "03.12.2026 09:00", "03.12.2026 17:00"]]
    with sessions.begin() as s:
        import_records(s, parse_rows(rows), tz="Europe/Kirov", now=NOW)
    data = IvrData(sessions, outage_max_age=lambda: timedelta(hours=2))
    try:
        assert data.outages_at(ACCOUNT.address, NOW, "Europe/Kirov").status == "found"
        assert data.outages_at("г. Киров, ул. Ленина, д. 20", NOW, "Europe/Kirov").status == "none"
        later = NOW + timedelta(hours=3)  # older than the configured age
        assert data.outages_at("г. Киров, ул. Ленина, д. 20", later, "Europe/Kirov").status == "unavailable"
    finally:
        data.close()
