"""`hotline bench inbound`: concurrent callers through disclosure, menu and a keypad reading.

A stack of its own (ports and data folder apart from `hotline up` and the tests) serves
synthetic customers; one sipp process places `level` calls that all overlap, each
identified by its account's last four digits, keying in a reading, confirming it and hanging
up. A call counts as good when sipp followed its whole scenario AND its reading is in the
database — a controller that answers late makes keys land on the wrong prompt, which shows up
here.
Levels go up until one fails; the figures printed per level and, last, one JSON line:
the highest level with zero failures, controller and Asterisk CPU, and the latency from a
key press to the next prompt (p50/p95, measured in the controller).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, func, select

from base.settings import Settings

PREVIOUS = 10000
ENTERED = "10100"
PHONE_BASE = 79997000000
TAIL = "0042"  # every bench account's number ends so: one scenario proves the account for all


def bench_settings(data_dir: Path) -> Settings:
    return Settings(
        env="test",
        data_dir=data_dir,
        redis_port=36390,
        sip_port=35060,
        rtp_port_start=40000,
        rtp_port_end=49998,
        ami_port=35038,
        agi_port=34573,
        audiosocket_port=39092,
        console_port=38080,
        test_endpoint_port_base=35070,
        pbx_node="benchpbx",
        config_cache_seconds=1.0,
    )


def seed_customers(settings: Settings, count: int) -> list[str]:
    """`count` customers, each with one phone and one 6-digit single-zone meter at 10000 kWh."""
    from datetime import date, timedelta

    from accounts.models import Account, AccountPhone, Meter, MeterReading, ReadingSource, ReadingZone, Tariff
    from base.db import make_engine, make_session_factory

    sessions = make_session_factory(make_engine(settings.db_url))
    phones = [str(PHONE_BASE + i) for i in range(1, count + 1)]
    with sessions.begin() as s:
        existing = s.scalar(select(func.count()).select_from(Account).where(Account.source == "bench")) or 0
        for i in range(existing + 1, count + 1):
            account = Account(number=f"77{i:06d}{TAIL}", holder_name="Тестовый абонент", address="—",
                              timezone="Europe/Moscow", balance=Decimal("-100.00"), source="bench")
            account.phones.append(AccountPhone(phone=f"+{PHONE_BASE + i}", kind="contract", verified=True))
            meter = Meter(serial=f"B{i:07d}", tariff=Tariff.SINGLE, digits=6)
            account.meters.append(meter)
            s.add(account)
            s.flush()
            s.add(MeterReading(meter_id=meter.id, zone=ReadingZone.TOTAL, value=Decimal(PREVIOUS),
                               taken_on=date.today() - timedelta(days=30), source=ReadingSource.BILLING))
    return phones


def clear_readings(settings: Settings) -> None:
    from accounts.models import MeterReading, ReadingSource
    from base.db import make_engine, make_session_factory

    with make_session_factory(make_engine(settings.db_url)).begin() as s:
        s.execute(delete(MeterReading).where(MeterReading.source != ReadingSource.BILLING))


def stored_readings(settings: Settings) -> int:
    from accounts.models import MeterReading, ReadingSource
    from base.db import make_engine, make_session_factory

    with make_session_factory(make_engine(settings.db_url))() as s:
        return s.scalar(select(func.count()).select_from(MeterReading).where(
            MeterReading.source == ReadingSource.IVR_DTMF)) or 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))], 1)


@dataclass
class Level:
    calls: int
    ok_sipp: int
    failed_sipp: int
    readings: int
    wall_s: float
    controller_cpu: float  # cores, averaged over the level
    asterisk_cpu: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None

    @property
    def failures(self) -> int:
        return max(self.failed_sipp, self.calls - self.ok_sipp, self.calls - self.readings)


async def run_level(settings: Settings, phones: list[str], level: int, rate: float, folder: Path) -> Level:
    import redis

    from telephony.sipp import Dtmf, ExpectHangup, Pause, SippProcess, free_media_port
    from telephony.sipp.dtmf import write_call_pcaps
    from telephony.sipp.scenarios import all_digits, caller_scenario

    clear_readings(settings)
    r = redis.Redis.from_url(settings.redis_dsn)
    key = f"{settings.redis_prefix}:metrics:prompt_latency_ms"
    r.delete(key)
    # A caller who knows the menu: keys come at times that fit the prompts, with margin.
    steps = [
        Pause(8500), Dtmf("1"),  # disclosure (~6 s), then "1" during the main menu: readings
        Pause(3500), Dtmf(TAIL + "#"),  # "key in the last four digits of your account"
        Pause(3000), Dtmf(ENTERED + "#"),  # the reading
        Pause(4500), Dtmf("1"),  # read back "you entered ..." -> confirm
        Pause(5500), Dtmf("2"),  # "saved", "all saved", "more?" -> 2: goodbye,
        ExpectHangup(60_000),  # and the PBX hangs up (a BYE before this fails the call)
    ]
    folder.mkdir(parents=True, exist_ok=True)
    pcaps = write_call_pcaps(all_digits(steps), folder / "dtmf")
    inf = folder / "callers.csv"
    inf.write_text("SEQUENTIAL\n" + "".join(f"{p};\n" for p in phones[:level]))
    args = [
        f"{settings.bind_address}:{settings.sip_port}", "-s", settings.hotline_number, "-inf", str(inf),
        "-i", settings.bind_address, "-p", "0", "-mi", settings.bind_address,
        "-mp", str(free_media_port(settings.bind_address)), "-m", str(level), "-l", str(level),
        "-r", str(rate), "-timeout", "300s", "-max_socket", "4096",
    ]
    proc = SippProcess(caller_scenario(steps, pcaps), folder, args, "bench")
    ctl_pid = int((settings.run_dir / "controller.pid").read_text().split()[0])
    ast_pid = int((settings.run_dir / "asterisk.pid").read_text().split()[0])
    c0, a0, t0 = cpu_seconds(ctl_pid), cpu_seconds(ast_pid), time.monotonic()
    await proc.start()
    result = await proc.wait(timeout=level / rate + 240)
    wall = time.monotonic() - t0
    c1, a1 = cpu_seconds(ctl_pid), cpu_seconds(ast_pid)
    # the last readings are written right after the last calls end
    deadline = time.monotonic() + 10
    readings = stored_readings(settings)
    while readings < level and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        readings = stored_readings(settings)
    await asyncio.sleep(1.5)  # latency samples are flushed to Redis once a second
    samples = [float(x) for x in r.lrange(key, 0, -1)]
    r.close()
    return Level(level, result.successful, result.failed, readings, round(wall, 1),
                 round((c1 - c0) / wall, 3), round((a1 - a0) / wall, 3),
                 percentile(samples, 50), percentile(samples, 95))


def main(levels: list[int], rate: float, keep: bool = False) -> dict:
    from hotline.stack import stack as parts

    data_dir = Path(tempfile.mkdtemp(prefix="hotline-bench-", dir="/tmp"))
    settings = bench_settings(data_dir)
    report: dict = {"benchmark": "inbound", "levels": [], "target_calls": 300}
    try:
        parts.stop_all(settings)
        parts.start_all(settings, console=False)
        from base.db import make_engine, make_session_factory
        from base.config_store import write
        from hours.service import OPERATOR_HOURS, WEEKDAY_KEYS, to_json

        doc = to_json(OPERATOR_HOURS)
        doc["weekly"] = {key: ["00:00-24:00"] for key in WEEKDAY_KEYS}
        doc["observe_public_holidays"] = False
        doc["shorten_pre_holiday"] = False
        with make_session_factory(make_engine(settings.db_url)).begin() as s:
            write(s, "hours.operators", doc, actor="bench")
        phones = seed_customers(settings, max(levels))
        time.sleep(1.5)  # the controller re-reads admin documents once a second here
        best = 0
        for level in levels:
            lv = asyncio.run(run_level(settings, phones, level, rate, data_dir / f"level-{level}"))
            report["levels"].append({**vars(lv), "failures": lv.failures})
            print(f"level {level}: {lv.ok_sipp} ok, {lv.failed_sipp} failed (sipp), {lv.readings} readings stored, "
                  f"controller {lv.controller_cpu} cores, asterisk {lv.asterisk_cpu} cores, "
                  f"key->prompt p50 {lv.latency_p50_ms} ms p95 {lv.latency_p95_ms} ms", file=sys.stderr)
            if lv.failures:
                break
            best = level
        top = next((lv for lv in report["levels"] if lv["calls"] == best), None)
        report.update(
            max_concurrent_zero_failures=best,
            controller_cpu_cores=top["controller_cpu"] if top else None,
            asterisk_cpu_cores=top["asterisk_cpu"] if top else None,
            prompt_latency_p50_ms=top["latency_p50_ms"] if top else None,
            prompt_latency_p95_ms=top["latency_p95_ms"] if top else None,
            data_dir=str(data_dir),
        )
    finally:
        if not keep:
            parts.stop_all(settings)
    return report


def cli(levels: str = "50,100,200,300,400", rate: float = 20.0, keep: bool = False) -> None:
    report = main([int(x) for x in levels.split(",")], rate, keep)
    print(json.dumps(report, ensure_ascii=False))


__all__ = ["cli", "main", "statistics"]
