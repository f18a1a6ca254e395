"""`hotline`: one command for the whole stack and each of its parts."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from hotline.asr_cli import asr_app, models_app
from hotline.hours_cli import hours_app
from hotline.outages_cli import outages_app
from hotline.testset_cli import asr_testset
from base.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Contact-centre hotline on a real Asterisk.")
pbx_app = typer.Typer(no_args_is_help=True, help="The Asterisk PBX (a Debian-unstable chroot).")
db_app = typer.Typer(no_args_is_help=True, help="The database.")
accounts_app = typer.Typer(no_args_is_help=True, help="Customers' accounts (the billing boundary).")
app.add_typer(pbx_app, name="pbx")
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(hours_app, name="hours", help="Operators' and callbacks' working hours (holidays, overrides).")
app.add_typer(outages_app, name="outages")
asr_app.command("testset")(asr_testset)
app.add_typer(asr_app, name="asr")
app.add_typer(models_app, name="models")


def _settings() -> Settings:
    return Settings()


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


# ---- pbx ----------------------------------------------------------------------------------


@pbx_app.command("build")
def pbx_build(force: Annotated[bool, typer.Option(help="Rebuild even if cached")] = False) -> None:
    """Build (or reuse) the cached Asterisk root filesystem."""
    from hotline.stack import pbx

    _logging()
    try:
        root = pbx.build(_settings(), force=force)
    except pbx.PbxError as exc:
        _fail(str(exc))
    typer.echo(f"PBX root filesystem: {root}")


@pbx_app.command("render")
def pbx_render(
    out: Annotated[Optional[Path], typer.Option(help="Write the config here (default: the instance's etc/)")] = None,
    mount: Annotated[Optional[str], typer.Option(help="Where the PBX sees the instance folder")] = None,
) -> None:
    """Render dialplans/*.j2 into Asterisk's configuration (used by the Docker setup too)."""
    from hotline.stack import pbx

    settings = _settings()
    if mount:
        settings = settings.model_copy(update={"pbx_mount": mount})
    from hotline.stack.stack import install_prompts

    target = out or settings.pbx_instance_dir / "etc"
    target.mkdir(parents=True, exist_ok=True)
    for name, text in pbx.render_config(settings).items():
        (target / name).write_text(text)
    typer.echo(f"rendered {len(list(target.glob('*.conf')))} files into {target}")
    if out is None:
        count = install_prompts(settings)
        typer.echo(f"installed {count} prompt files into {settings.pbx_instance_dir / 'sounds'}")


@pbx_app.command("start")
def pbx_start() -> None:
    """Start Asterisk (building it first if needed) and wait until it is fully booted."""
    from hotline.stack import pbx
    from hotline.stack.stack import start_pbx

    _logging()
    try:
        inst = start_pbx(_settings())
    except pbx.PbxError as exc:
        _fail(str(exc))
    typer.echo(f"Asterisk running, pid {inst.running_pid()}")


@pbx_app.command("stop")
def pbx_stop() -> None:
    """Stop the Asterisk this stack started."""
    from hotline.stack import pbx

    settings = _settings()
    stopped = pbx.Instance(settings, pbx.rootfs_path(settings)).stop()
    typer.echo("Asterisk stopped" if stopped else "Asterisk was not running")


@pbx_app.command("status")
def pbx_status() -> None:
    """Is Asterisk running, and what does it say about itself."""
    from hotline.stack import pbx

    settings = _settings()
    inst = pbx.Instance(settings, pbx.rootfs_path(settings))
    pid = inst.running_pid()
    if pid is None:
        typer.echo("Asterisk: not running")
        raise typer.Exit(3)
    typer.echo(f"Asterisk: running, pid {pid}")
    typer.echo(inst.asterisk_rx("core show uptime").strip())
    typer.echo(inst.asterisk_rx("core show channels count").strip())


@pbx_app.command("cli")
def pbx_cli(command: Annotated[list[str], typer.Argument(help="An Asterisk CLI command")]) -> None:
    """Run one Asterisk CLI command, e.g. `hotline pbx cli pjsip show endpoints`."""
    from hotline.stack import pbx

    settings = _settings()
    try:
        typer.echo(pbx.Instance(settings, pbx.rootfs_path(settings)).asterisk_rx(" ".join(command)), nl=False)
    except pbx.PbxError as exc:
        _fail(str(exc))


# ---- database and accounts ----------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations."""
    from hotline.db import upgrade

    settings = _settings()
    upgrade(settings.db_url)
    typer.echo("database is up to date")


@accounts_app.command("import")
def accounts_import(path: Path) -> None:
    """Import accounts from the billing system's CSV or XLSX export."""
    from accounts.service import import_file
    from base.db import make_engine, make_session_factory
    from hotline.db import upgrade

    settings = _settings()
    upgrade(settings.db_url)
    sessions = make_session_factory(make_engine(settings.db_url))
    with sessions.begin() as session:
        report = import_file(session, path)
    for error in report.rejected:
        typer.echo(f"строка {error.row}: {error.reason}", err=True)
    typer.echo(json.dumps(report.summary() if hasattr(report, "summary") else vars(report), default=str,
                          ensure_ascii=False))


@accounts_app.command("seed-demo")
def accounts_seed_demo() -> None:
    """Create the demo customers the embedded stack serves."""
    _seed_demo(_settings())
    typer.echo("demo accounts are in place")


def _seed_demo(settings: Settings) -> None:
    from accounts.demo import seed_demo
    from base.db import make_engine, make_session_factory
    from hotline.db import upgrade

    upgrade(settings.db_url)
    sessions = make_session_factory(make_engine(settings.db_url))
    with sessions.begin() as session:
        seed_demo(session)


@app.command()
def flows() -> None:
    """Print the hotline's call flows as declared (states, and where each answer leads)."""
    from ivr.hotline import BALANCE, HOTLINE, IDENTIFY, OUTAGES, READINGS
    from ivr.smart import SMART

    for flow in (HOTLINE, SMART, IDENTIFY, READINGS, BALANCE, OUTAGES):
        typer.echo(flow.describe())
        typer.echo("")


@app.command("readings-export")
def readings_export(
    out: Annotated[Path, typer.Option(help="CSV file to write (UTF-8 with BOM, ';')")],
    since: Annotated[
        str, typer.Option(help="Cursor: the next_cursor printed by the last export (0: all)")
    ] = "0",
) -> None:
    """Export readings taken by the hotline for billing; prints the next cursor."""
    import csv

    from accounts.service import READING_EXPORT_COLUMNS, ReadingCursor, readings_since
    from base.db import make_engine, make_session_factory
    from base.spreadsheet import safe_row

    try:
        cursor = ReadingCursor.parse(since)
    except ValueError:
        raise typer.BadParameter(
            "нужен курсор из прошлой выгрузки (next_cursor), например 0 или 123:45", param_hint="--since"
        ) from None
    settings = _settings()
    sessions = make_session_factory(make_engine(settings.db_url))
    count = 0
    with open(out, "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerow(READING_EXPORT_COLUMNS)
        while True:
            with sessions() as s:  # a fresh snapshot per page: settled rows only
                rows, cursor = readings_since(s, cursor, 5000)
            if not rows:
                break
            for r in rows:
                writer.writerow(safe_row(getattr(r, c) for c in READING_EXPORT_COLUMNS))
            count += len(rows)
    typer.echo(json.dumps({"exported": count, "next_cursor": str(cursor), "file": str(out)}))


# ---- services -----------------------------------------------------------------------------


@app.command()
def controller(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run the controller in the foreground (AMI, FastAGI, AudioSocket, call records)."""
    from hotline.db import upgrade
    from hotline.wiring import build_controller

    _logging(verbose)
    settings = _settings()
    upgrade(settings.db_url)
    asyncio.run(build_controller(settings).run_until_signalled())


@app.command()
def console() -> None:
    """Run the web console in the foreground."""
    from hotline.console import serve

    _logging()
    serve(_settings())


@app.command()
def up() -> None:
    """Start the whole stack: Redis, the PBX, the controller and the console."""
    from hotline.stack import pbx
    from hotline.stack import redis as redis_stack
    from hotline.stack.stack import start_all

    _logging()
    settings = _settings()
    started = time.monotonic()
    try:
        result = start_all(settings)
    except (pbx.PbxError, redis_stack.RedisError, TimeoutError) as exc:
        _fail(f"could not start the stack: {exc}")
    b = settings.public_bind_address
    from base.settings import DEV_SIP_PASSWORD

    # The development password is no secret; a real one is never printed.
    sip_password = repr(DEV_SIP_PASSWORD) if settings.sip_password == DEV_SIP_PASSWORD else "HOTLINE_SIP_PASSWORD"
    parts = [f"started: {', '.join(result.started) or 'nothing'}"]
    if result.running:
        parts.append(f"already running, left alone: {', '.join(result.running)}")
    typer.echo(
        f"""
The hotline is up ({time.monotonic() - started:.0f} s; {'; '.join(parts)}).

  Call it:      hotline call {settings.hotline_number}          (a real SIP call from sipp, recorded)
  Softphone:    register 101 or 102 at {b}:{settings.sip_port} (UDP), password {sip_password},
                then dial {settings.hotline_number}; 8801 is the voice check (keys, then your voice echoed)
  Console:      http://{b}:{settings.console_port}/  (password: the staff token, HOTLINE_STAFF_API_TOKEN)
  Calls:        hotline calls
  Logs:         {settings.log_dir}/  (controller.log, console.log, asterisk.log)
  Recordings:   {settings.recordings_dir}/
  Stop:         hotline down
"""
    )


@app.command()
def down() -> None:
    """Stop everything `hotline up` started."""
    from hotline.stack.stack import stop_all

    stopped = stop_all(_settings())
    typer.echo(("stopped: " + ", ".join(stopped)) if stopped else "nothing was running")


@app.command()
def call(
    number: Annotated[str, typer.Argument(help="The number to dial, e.g. 8800")] = "8800",
    caller: Annotated[str, typer.Option("--from", help="The caller's number")] = "79990000001",
    dtmf: Annotated[str, typer.Option(help="Keys to press after the disclosure")] = "",
    voice: Annotated[Optional[Path], typer.Option(help="An audio file to speak after answer")] = None,
    seconds: Annotated[float, typer.Option(help="Hang up this long after the keys (default: 15 s with no "
                                                "keys; with keys, wait for the PBX to end the call)")] = 0.0,
    record_timeout: Annotated[float, typer.Option(help="How long to wait for the call's record after "
                                                       "it ends (seconds)")] = 10.0,
) -> None:
    """Place a real SIP test call with sipp and show its record (or say that none was written)."""
    from base.privacy import mask_phone
    from telephony.sipp import Caller, Dtmf, ExpectHangup, Hangup, Pause, Voice
    from telephony.sipp.audio import duration_ms, to_ulaw

    settings = _settings()
    steps: list = []
    if voice is not None:
        wav = to_ulaw(voice, settings.data_dir / "cache" / "voices")
        steps.append(Voice(wav, wait=False, duration_ms=duration_ms(wav)))
    if dtmf:
        steps += [Pause(9000), Dtmf(dtmf)]  # after the disclosure, during the main menu
    if not seconds and not dtmf:
        seconds = 15.0  # disclosure and the start of the menu, then hang up
    if seconds:
        steps += [Pause(int(seconds * 1000)), Hangup()]
    else:
        steps.append(ExpectHangup())  # with keys: the flow ends the call
    folder = settings.data_dir / "calls" / time.strftime("%Y%m%d-%H%M%S")
    test_caller = Caller(number, caller, steps, folder, settings.public_bind_address, settings.sip_port)
    first_id = _next_call_id(settings)  # this call's record can only come after every earlier one
    typer.echo(f"calling {number} from {caller} ...")
    result = asyncio.run(_run_caller(test_caller))
    typer.echo("call completed" if result.ok else f"call failed: {result.explain()}")
    record = _wait_record(settings, caller, first_id, timeout=record_timeout)
    if record is None:
        typer.secho(
            f"no call record was written for this call (none from {mask_phone(caller)} since it was "
            f"placed, after {record_timeout:.0f} s): is the controller running? (hotline up)",
            fg=typer.colors.RED, err=True,
        )
        raise typer.Exit(1)
    typer.echo(_format_call(record))
    if not result.ok:
        raise typer.Exit(1)


async def _run_caller(c):  # type: ignore[no-untyped-def]
    await c.start()
    return await c.wait(timeout=300)


def _next_call_id(settings: Settings) -> int:
    """The id the next call record will have at the least (ids only grow)."""
    from sqlalchemy import func, select

    from base.db import make_engine, make_session_factory
    from calls.models import Call

    with make_session_factory(make_engine(settings.db_url))() as s:
        return int(s.scalar(select(func.max(Call.id))) or 0) + 1


def _wait_record(settings: Settings, caller_number: str, first_id: int, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    """This call's record: from this caller, written after the call was placed (id >= first_id),
    polled until it is closed; the record still open at the timeout, or None if none came."""
    from sqlalchemy import select

    from base.db import make_engine, make_session_factory
    from calls.models import Call

    sessions = make_session_factory(make_engine(settings.db_url))
    deadline = time.monotonic() + timeout
    found = None
    while True:
        with sessions() as s:
            found = s.scalar(select(Call).where(Call.caller_number == caller_number, Call.id >= first_id)
                             .order_by(Call.id).limit(1))
        if (found is not None and found.ended_at is not None) or time.monotonic() >= deadline:
            return found
        time.sleep(0.2)


@app.command()
def calls(limit: Annotated[int, typer.Option(help="How many of the latest calls")] = 10) -> None:
    """The latest calls from the calls table (numbers masked)."""
    _print_calls(_settings(), limit)


def _print_calls(settings: Settings, limit: int) -> None:
    from sqlalchemy import select

    from calls.models import Call
    from base.db import make_engine, make_session_factory
    from base.privacy import mask_phone

    sessions = make_session_factory(make_engine(settings.db_url))
    with sessions() as s:
        rows = s.scalars(select(Call).order_by(Call.started_at.desc()).limit(limit)).all()
        for c in rows:
            typer.echo(_format_call(c))


def _format_call(c) -> str:  # type: ignore[no-untyped-def]
    from base.privacy import mask_phone

    duration = (c.ended_at - c.started_at).total_seconds() if c.ended_at else None
    return (
        f"{c.started_at:%Y-%m-%d %H:%M:%S} {c.direction.value:8} {mask_phone(c.caller_number):18} -> "
        f"{c.called_number:6} {(c.outcome.value if c.outcome else 'in progress'):12} "
        f"{'' if duration is None else f'{duration:5.1f}s'} "
        f"disclosure={'yes' if c.disclosure_at else 'no'} recording={c.recording_path or '-'}"
    )


@app.command()
def bench(
    name: Annotated[str, typer.Argument(help="inbound | asr")],
    levels: Annotated[str, typer.Option(help="inbound: concurrent calls per step")] = "50,100,200,300,400",
    rate: Annotated[float, typer.Option(help="inbound: new calls per second")] = 20.0,
    keep: Annotated[bool, typer.Option(help="leave the benchmark stack running")] = False,
    quick: Annotated[bool, typer.Option(help="asr: the quick test set")] = False,
    engine: Annotated[Optional[str], typer.Option(help="asr: whisper | vosk (default: settings)")] = None,
    limit: Annotated[Optional[int], typer.Option(help="asr: at most this many test items")] = None,
) -> None:
    """Measure the real stack on this machine; the last line printed is one JSON object."""
    logging.basicConfig(level=logging.WARNING)
    if name == "inbound":
        from hotline.bench.inbound import cli as inbound

        inbound(levels, rate, keep)
        return
    if name == "asr":
        from hotline.bench.asr import cli as asr

        asr(quick, engine, limit)
        return
    _fail(f"no benchmark named {name!r}; available: inbound, asr")


if __name__ == "__main__":
    app()
