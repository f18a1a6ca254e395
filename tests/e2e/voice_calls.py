"""Real-call helpers for the voice tests (test_voice_readings_calls.py,
test_smart_ivr_calls.py): the speech engine ready, a caller's spoken answer after the whole
question, key presses."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from harness import Stack, poll, prompt_folders
from sqlalchemy import select

from accounts.models import Account, AccountPhone, Meter, MeterReading
from ivr.say_ru import number_words
from telephony.sipp import Dtmf, Go, Pause, Voice


async def speech_ready(stack: Stack) -> Stack:
    """The controller has loaded the speech engine (voice questions are keys-only until then)."""
    import redis

    def state() -> str | None:
        client = redis.Redis.from_url(stack.settings.redis_dsn, decode_responses=True)
        try:
            return client.hget(f"{stack.settings.redis_prefix}:state", "speech")
        finally:
            client.close()

    speech = await poll(state, 120, "the controller's speech engine")
    assert not speech.startswith(("unavailable", "off")), speech
    return stack


def prompt_ms(stack: Stack, names: list[str]) -> int:
    """How long these prompts play, from their files (ours and the Russian pack's)."""
    from speech.audio import load_wav

    folders = prompt_folders(stack.settings)
    total = 0.0
    for name in names:
        if name.startswith("hotline:"):
            path = folders["hotline:"] / f"{name.removeprefix('hotline:')}.wav"
        else:
            path = folders[""] / f"{name}.wav"
        x, rate = load_wav(path)
        total += len(x) / rate
    return int(total * 1000)


def speak(stack: Stack, text: str, after: list[str] | None = None) -> list:
    """The caller's steps for one spoken answer: wait for the test's go, let the question
    (`after`, its prompt names) play to the end, then say `text` (Festival, 8 kHz µ-law)."""
    from ivr.prompts import render
    from telephony.sipp.audio import duration_ms, to_ulaw

    folder = stack.workdir / "voices"
    wav = to_ulaw(render(text, folder), folder)
    wait = prompt_ms(stack, after) + 400 if after else 400
    return [Go(), Pause(wait), Voice(wav, wait=True, duration_ms=duration_ms(wav))]


def press(keys: str) -> list:
    return [Go(), Pause(400), Dtmf(keys)]


def words(n: int) -> str:
    return " ".join(number_words(n))


def meter_of(stack: Stack, phone: str) -> tuple[int, int, int]:
    """(meter id, its latest reading, the highest plausible reading now + margin) for the
    account on `phone`: a value to say that passes the checks whenever the test runs."""
    from ivr.readings import DEFAULT_MAX_DAILY_KWH

    with stack.sessions() as db:
        account = db.scalar(select(Account).join(AccountPhone).where(AccountPhone.phone == f"+{phone}"))
        assert account is not None
        meter = db.scalar(select(Meter).where(Meter.account_id == account.id))
        assert meter is not None
        last = db.scalar(select(MeterReading).where(MeterReading.meter_id == meter.id)
                         .order_by(MeterReading.taken_on.desc(), MeterReading.id.desc()).limit(1))
        assert last is not None
        today = datetime.now(ZoneInfo(account.timezone)).date()
        days = max((today - last.taken_on).days, 1)
        return meter.id, int(last.value), int(last.value + DEFAULT_MAX_DAILY_KWH * days)


_engines: dict[str, object] = {}


def recognised(stack: Stack, phone: str, offsets: list[int], avoid: int | None = None) -> int:
    """A reading for the meter on `phone` (its latest reading + one of `offsets`) that the
    engine, given the same context as the flow, recognises exactly and confidently from
    Festival's voice over the telephone band.

    These tests are about the flow (read back, confirm, store, reject, re-enter), not about
    recognition accuracy, which `hotline bench asr` measures: with whisper-base some Festival
    numbers are misheard, so the test says one that this engine hears, checked here offline
    with the same audio the caller will stream, rather than hoping."""
    from ivr.prompts import render
    from speech.audio import load_for_engine
    from speech.engine import Expect
    from speech.model_store import open_engine
    from speech.understanding import RECOMMENDED_THRESHOLD, ReadingContext, understand
    from telephony.sipp.audio import to_ulaw

    if "engine" not in _engines:
        _engines["engine"] = open_engine(stack.settings)
    engine = _engines["engine"]
    _, last, highest = meter_of(stack, phone)
    with stack.sessions() as db:
        account = db.scalar(select(Account).join(AccountPhone).where(AccountPhone.phone == f"+{phone}"))
        meter = db.scalar(select(Meter).where(Meter.account_id == account.id))
        digits, zones = meter.digits, tuple(str(getattr(z, "value", z)) for z in meter.zones)
    days = max(int((highest - last) / 150), 1)
    context = ReadingContext(previous=last, days=days, digits=digits, zones=zones or ("total",))
    folder = stack.workdir / "voices"
    heard = []
    for offset in offsets:
        value = last + offset
        if value == avoid or value > highest:  # an implausible jump takes another path
            continue
        wav = to_ulaw(render(words(value), folder), folder)
        result = understand(engine.transcribe(load_for_engine(wav), Expect.READING),  # type: ignore[attr-defined]
                            Expect.READING, context)
        if result.value == str(value) and result.confidence >= RECOMMENDED_THRESHOLD[Expect.READING]:
            return value
        heard.append((value, result.value, round(result.confidence, 2)))
    raise AssertionError(f"the engine recognised none of these readings from Festival's voice: {heard}")
