"""The callback domain's parts, built for the controller (called from :mod:`hotline.wiring`)."""

from __future__ import annotations

import logging
from datetime import datetime

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from callback_queue.dialer import AmiLike, CallbackDialer, DialerConfig
from callback_queue.queue import CallbackQueue
from callback_queue.settings import CallbackSettings
from base.clock import Clock
from hours.service import ConfigSource, HoursService
from base.settings import Settings

__all__ = ["build_dialer", "dialer_config"]

log = logging.getLogger("callback_queue")


def dialer_config(settings: Settings, callbacks: CallbackSettings) -> DialerConfig:
    return DialerConfig(
        operators=tuple(o.strip() for o in callbacks.operators if o.strip()),
        queue=callbacks.queue,
        caller_id=callbacks.caller_id or settings.hotline_number,
        poll_interval=callbacks.poll_seconds,
        resync_interval=callbacks.resync_seconds,
        retry_delay=callbacks.retry_delay,
        operator_retry_delay=callbacks.operator_retry_delay,
        operator_ring_seconds=callbacks.operator_ring_seconds,
        customer_ring_seconds=callbacks.customer_ring_seconds,
    )


def build_dialer(
    settings: Settings,
    *,
    ami: AmiLike,
    sessions: sessionmaker[Session],
    redis: aioredis.Redis | None,
    clock: Clock,
    config: ConfigSource,
    callbacks: CallbackSettings | None = None,
) -> CallbackDialer | None:
    """The controller's callback dialer, or None when switched off (HOTLINE_CALLBACK_DIALER)."""
    callbacks = callbacks or CallbackSettings()
    if not callbacks.dialer_enabled(settings.env):
        log.info("callback dialer off (HOTLINE_CALLBACK_DIALER=%s, HOTLINE_ENV=%s)",
                 callbacks.dialer, settings.env)
        return None
    hours = HoursService(config, clock)

    def callbacks_open(at: datetime) -> bool:
        return hours.callbacks_open(settings.timezone, at)

    return CallbackDialer(
        ami=ami,
        sessions=sessions,
        clock=clock,
        callbacks_open=callbacks_open,
        node=settings.pbx_node,
        config=dialer_config(settings, callbacks),
        queue=CallbackQueue(redis, settings.redis_prefix) if redis is not None else None,
    )
