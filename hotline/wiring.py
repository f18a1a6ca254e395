"""The one place where the parts are wired together."""

from __future__ import annotations

import logging
from datetime import timedelta

import redis.asyncio as aioredis

from base.clock import Clock, OffsetClock, SystemClock
from base.config_store import CachedConfig
from base.db import make_engine, make_session_factory
from base.events import EventBus
from base.metrics import Samples, flush_forever
from base.settings import Settings
from callback_queue.plugin import build_dialer
from calls.handlers import CALL_EVENTS, CallTracker, cel_reader
from calls.registry import CallRegistry
from calls.service import CallStore
from hotline.controller import Controller
from hours.handlers import OpenWindowsPublisher
from hours.service import HoursError, HoursService
from ivr.context import QueueOptions
from ivr.faq import FaqStore
from ivr.handlers import HotlineFlows, VoiceQuestions
from ivr.identification import IdentificationGuard, policy_from
from ivr.services import IvrData
from telephony.agi import FastAgiServer
from telephony.ami import AmiClient
from telephony.audiosocket import AudioSocketServer

log = logging.getLogger("hotline.wiring")


def build_controller(settings: Settings, clock: Clock | None = None) -> Controller:
    clock = clock or (OffsetClock(settings.clock_offset_seconds) if settings.clock_offset_seconds else SystemClock())
    sessions = make_session_factory(make_engine(settings.db_url))
    redis = aioredis.from_url(settings.redis_dsn, socket_timeout=2, socket_connect_timeout=2)
    bus = EventBus(redis, settings.redis_prefix)
    tracker = CallTracker(CallRegistry(), CallStore(sessions, settings.pbx_node), bus, clock,
                          cel=cel_reader(settings.cel_file))
    config = CachedConfig(sessions, ttl=settings.config_cache_seconds)
    data = IvrData(sessions, outage_max_age=lambda: outage_max_age(config))
    latency = Samples("prompt_latency_ms")
    speech_latency = Samples("speech_latency_ms")
    audiosocket_address = f"{settings.internal_bind_address}:{settings.audiosocket_port}"
    voice = voice_questions(settings, audiosocket_address)
    faq = faq_store(settings)
    flows = HotlineFlows(
        sounds=settings.pbx_sounds_path,
        audiosocket_address=audiosocket_address,
        notes=tracker,
        data=data,
        operators_open=operators_open(settings, config, clock),
        queue=lambda: queue_options(config),
        latency=latency,
        clock=clock,
        timezone=settings.timezone,
        operator_hours=operator_hours(settings, config, clock),
        identity=IdentificationGuard(sessions, clock, settings.console_secret_key.encode(),
                                     lambda: policy_from(config.get("identification"))),
        voice=voice,
        faq=faq,
        test_routes=settings.env == "test",
    )
    hours = HoursService(config, clock)
    windows = OpenWindowsPublisher(lambda: hours.schedule("operators"), settings.timezone, clock)
    # FastAGI and AudioSocket serve only the PBX, which connects from the address AMI reaches.
    pbx_peers = [settings.internal_bind_address]
    agi = FastAgiServer(settings.internal_bind_address, settings.agi_port, flows.routes(),
                        allowed_peers=pbx_peers)
    audio = AudioSocketServer(settings.internal_bind_address, settings.audiosocket_port, flows.on_audio,
                              allowed_peers=pbx_peers)
    ami = AmiClient(
        settings.internal_bind_address,
        settings.ami_port,
        settings.ami_username,
        settings.ami_secret,
        backoff_initial=settings.ami_backoff_initial,
        backoff_max=settings.ami_backoff_max,
        on_connect=_in_turn(windows.publish, tracker.resync),
        on_disconnect=tracker.on_disconnect,
        name=f"ami:{settings.pbx_node}",
    )
    ami.subscribe(tracker.on_event, CALL_EVENTS)
    dialer = build_dialer(settings, ami=ami, sessions=sessions, redis=redis, clock=clock, config=config)
    return Controller(
        ami=ami, agi=agi, audio=audio, tracker=tracker, redis=redis,
        background=[lambda: flush_forever([latency, speech_latency], redis, settings.redis_prefix),
                    lambda: load_speech(settings, voice, sessions, clock, redis, speech_latency),
                    lambda: windows.run(ami),
                    faq.watch,
                    *([dialer.run] if dialer is not None else [])],
        closers=[data.close, lambda: voice.service.close() if voice.service else None],
    )


def _in_turn(*callbacks):  # type: ignore[no-untyped-def]
    """One AMI login callback running several, each whatever the previous one did."""
    async def run(client):  # type: ignore[no-untyped-def]
        for callback in callbacks:
            try:
                await callback(client)
            except Exception:  # noqa: BLE001 - logged; the next one still runs
                log.exception("AMI login callback %s failed", getattr(callback, "__qualname__", callback))
    return run


def operators_open(settings: Settings, config: CachedConfig, clock: Clock):  # type: ignore[no-untyped-def]
    """Are operators on shift now, in the region's time zone (admin-editable schedule).

    Fails closed: a broken schedule document or an error in the check is closed, logged
    (hours.service.HoursService.is_open); there is no "always open" fallback."""
    hours = HoursService(config, clock)
    return lambda: hours.operators_open(settings.timezone)


def operator_hours(settings: Settings, config: CachedConfig, clock: Clock):  # type: ignore[no-untyped-def]
    """() -> (the operators' schedule, their next opening), or None when the schedule cannot
    be read: what the after-hours prompt says (ivr.telling.hours_sounds)."""
    hours = HoursService(config, clock)

    def read():  # type: ignore[no-untyped-def]
        try:
            schedule = hours.schedule("operators")
        except HoursError:
            return None  # logged by the service
        return schedule, hours.next_opening("operators", settings.timezone)

    return read


def outage_max_age(config: CachedConfig) -> timedelta:
    """How old the outage data may be for "no outages at your address": the admin document
    ``outages`` (``{"max_age_hours": 24}``), default 24 hours; a bad value means the default."""
    doc = config.get("outages") or {}
    try:
        hours = float(doc.get("max_age_hours", 24))
    except (TypeError, ValueError):
        log.error(
            "config outages.max_age_hours is not a number: %r", doc.get("max_age_hours"))
        hours = 24.0
    return timedelta(hours=hours if hours > 0 else 24.0)


def queue_options(config: CachedConfig) -> QueueOptions:
    doc = config.get("queue") or {}
    return QueueOptions(
        name=str(doc.get("name", "operators")),
        long_queue=int(doc.get("long_queue", 5)),
        max_wait_s=int(doc.get("max_wait_s", QueueOptions.max_wait_s)),
    )


def voice_questions(settings: Settings, address: str) -> VoiceQuestions:
    """Voice questions (FlowCall.listen): the prompts as audio the controller plays itself —
    ours from the instance's sounds folder, the Russian pack's from the PBX root filesystem
    (not on this host when the PBX runs in a container: questions using pack sounds are then
    asked with keys). Keys only until `load_speech` has the engine."""
    from hotline.stack.pbx import rootfs_path
    from speech.prompt_audio import PromptAudio, pack_folder

    pack = None if settings.pbx_mount else pack_folder(rootfs_path(settings))
    voice = VoiceQuestions(address, PromptAudio(settings.pbx_instance_dir / "sounds", pack))
    voice.reason = ("speech is off (speech_enabled = false)" if not settings.speech_enabled
                    else "the speech engine is loading")
    return voice


async def load_speech(settings: Settings, voice: VoiceQuestions, sessions, clock: Clock,  # type: ignore[no-untyped-def]
                      redis, latency: Samples) -> None:
    """Load the engine off the event loop (the controller serves calls meanwhile, keys only),
    then let voice questions use it. A missing engine or model is logged with what to
    install; the questions stay keys-only. Readiness is published in Redis (`<prefix>:state`
    `speech`: the engine's name or "unavailable: why")."""
    import asyncio

    from speech import intents
    from speech.engine import EngineUnavailable
    from speech.model_store import open_engine
    from speech.pool import RecognitionPool
    from speech.service import SpeechService

    if not settings.speech_enabled:
        state = "off"
    else:
        try:
            engine = await asyncio.to_thread(open_engine, settings)
            extra = [settings.intents_file] if settings.intents_file else []
            await asyncio.to_thread(intents.configure, *extra)  # the exemplar index, built once
        except EngineUnavailable as exc:
            voice.reason = f"speech engine unavailable: {exc}"
            log.error("%s (voice questions use the keypad)", voice.reason)
            state = f"unavailable: {exc}"
        except Exception as exc:  # a broken model must not stop the controller
            voice.reason = f"speech engine failed to load: {exc}"
            log.exception("speech engine failed to load (voice questions use the keypad)")
            state = f"unavailable: {exc}"
        else:
            pool = RecognitionPool(lambda: engine, workers=settings.asr_workers,
                                   max_queue=settings.speech_max_queue,
                                   max_wait_s=settings.speech_max_wait_s, latency=latency)
            voice.ready(SpeechService(pool, sessions, settings.data_dir, clock))
            state = getattr(engine, "name", "ready")
            log.info("speech ready: %s, %d workers", state, pool.workers)
    key = f"{settings.redis_prefix}:state"
    try:
        await redis.hset(key, "speech", state[:300])
    except Exception as exc:  # noqa: BLE001 - best effort, as the metrics
        log.debug("could not publish the speech state: %s", exc)
    if voice.service is None:
        return
    import json

    while True:  # the pool's queue depth, busy workers and average work, every 5 s
        await asyncio.sleep(5)
        try:
            await redis.hset(key, "speech_pool", json.dumps(voice.service.pool.stats()))
        except Exception as exc:  # noqa: BLE001 - best effort, as the metrics
            log.debug("could not publish the speech pool's state: %s", exc)


def faq_store(settings: Settings) -> FaqStore:
    """The Smart IVR's FAQ answers: the content file (settings.faq_file), rendered into the
    instance's sounds folder when it changes (watched in the background, no restart)."""
    from hotline.stack.stack import prompts_cache

    return FaqStore(settings.faq_file, settings.pbx_instance_dir / "sounds", prompts_cache(settings))
