"""The one place where the parts are wired together."""

from __future__ import annotations

import redis.asyncio as aioredis

from calls.handlers import CALL_EVENTS, CallTracker
from calls.registry import CallRegistry
from calls.service import CallStore
from hotline.clock import Clock, SystemClock
from hotline.controller import Controller
from hotline.db import make_engine, make_session_factory
from hotline.events import EventBus
from hotline.settings import Settings
from ivr.handlers import HotlineFlows
from telephony.agi import FastAgiServer
from telephony.ami import AmiClient
from telephony.audiosocket import AudioSocketServer


def build_controller(settings: Settings, clock: Clock | None = None) -> Controller:
    clock = clock or SystemClock()
    sessions = make_session_factory(make_engine(settings.db_url))
    redis = aioredis.from_url(settings.redis_dsn, socket_timeout=2, socket_connect_timeout=2)
    bus = EventBus(redis, settings.redis_prefix)
    tracker = CallTracker(CallRegistry(), CallStore(sessions, settings.pbx_node), bus, clock)
    flows = HotlineFlows(
        sounds=settings.pbx_sounds_path,
        audiosocket_address=f"{settings.bind_address}:{settings.audiosocket_port}",
        notes=tracker,
    )
    agi = FastAgiServer(settings.bind_address, settings.agi_port, flows.routes())
    audio = AudioSocketServer(settings.bind_address, settings.audiosocket_port, flows.on_audio)
    ami = AmiClient(
        settings.bind_address,
        settings.ami_port,
        settings.ami_username,
        settings.ami_secret,
        backoff_initial=settings.ami_backoff_initial,
        backoff_max=settings.ami_backoff_max,
        on_connect=tracker.resync,
        on_disconnect=tracker.on_disconnect,
        name=f"ami:{settings.pbx_node}",
    )
    ami.subscribe(tracker.on_event, CALL_EVENTS)
    return Controller(ami=ami, agi=agi, audio=audio, tracker=tracker, redis=redis)
