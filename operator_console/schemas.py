"""What the console's API returns. Phone numbers in here are always masked."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["CallSummary", "Health"]


class CallSummary(BaseModel):
    """One call in a list: enough to recognise it, no personal data in full."""

    model_config = ConfigDict(frozen=True)

    id: int
    started_at: datetime  # UTC
    started_at_text: str  # local time of the retailer's region, as shown on the page
    direction: str  # inbound | outbound | internal
    direction_text: str
    caller: str  # masked
    called: str  # masked when it is the customer's number (outbound calls)
    outcome: str | None  # None while the call is in progress
    outcome_text: str
    in_progress: bool
    duration_seconds: int
    duration_text: str
    has_recording: bool


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]  # never the host, user or driver message
