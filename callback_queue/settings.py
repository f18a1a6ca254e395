"""The callback domain's settings, read from ``HOTLINE_CALLBACK_*`` variables (or ``.env``).

Kept beside the domain rather than in :class:`base.settings.Settings` while the hotline
issue is in flight; the names are the ones they would have there (``callback_*``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["CallbackSettings"]


class CallbackSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_CALLBACK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # The controller's dialer: "auto" runs it except in the test stack (HOTLINE_ENV=test),
    # where end-to-end tests drive their own dialers with a clock and hours they control,
    # and where a background dialer would ring the operator phones other tests listen on.
    dialer: Literal["auto", "on", "off"] = "auto"
    # PJSIP endpoints to offer callbacks to, tried in this order. Empty: the members of
    # `queue` who are logged in and not paused.
    operators: list[str] = Field(default_factory=list)
    queue: str = "operators"
    # The number the customer sees; empty: the hotline's number (Settings.hotline_number).
    caller_id: str = ""

    poll_seconds: float = 3.0  # how often the dialer looks for due orders
    resync_seconds: float = 15.0  # how often the Redis queue is rebuilt from the database
    max_attempts: int = 3  # times the customer is rung before the order fails
    retry_delay_minutes: float = 30.0  # after the customer did not answer
    operator_retry_seconds: float = 60.0  # after no operator was free or answered
    operator_ring_seconds: int = 20
    customer_ring_seconds: int = 40

    # The website's form (POST /api/callbacks), fixed windows per client address and number,
    # and for all requests together (what the operators can call back, whoever sends it).
    web_per_ip_per_minute: int = 5
    web_per_phone_per_hour: int = 3
    web_all_per_minute: int = 60
    web_max_body_bytes: int = 4096  # the form is a few hundred bytes; larger is refused (413)
    web_max_days_ahead: int = 14  # the latest preferred time the form accepts
    web_past_grace_minutes: int = 15  # a form left open a while may name a time just past

    def dialer_enabled(self, env: str) -> bool:
        return self.dialer == "on" or (self.dialer == "auto" and env != "test")

    @property
    def retry_delay(self) -> timedelta:
        return timedelta(minutes=self.retry_delay_minutes)

    @property
    def operator_retry_delay(self) -> timedelta:
        return timedelta(seconds=self.operator_retry_seconds)
