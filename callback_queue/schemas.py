"""What the callback API accepts and returns. Phone numbers in responses are always masked."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CallbackAccepted", "CallbackDetail", "CallbackRequest", "TransitionOut"]


class CallbackRequest(BaseModel):
    """The website's form. Times without an offset are the region's local time."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    phone: str = Field(min_length=1, max_length=40, description="Номер телефона, например 8 912 345-67-89")
    name: str | None = Field(default=None, max_length=200, description="Как к вам обращаться")
    comment: str | None = Field(default=None, max_length=1000, description="Ваш вопрос")
    preferred_from: datetime | None = Field(default=None, description="Удобно с (дата и время)")
    preferred_to: datetime | None = Field(default=None, description="Удобно до (дата и время)")


class CallbackAccepted(BaseModel):
    """The answer to the form: the order, and a sentence to show the customer."""

    model_config = ConfigDict(frozen=True)

    id: int
    state: str
    state_text: str
    phone: str  # masked
    due_at: datetime  # not called before this (UTC)
    preferred_from: datetime | None
    preferred_to: datetime | None
    created: bool  # False: the same request again, or the number already had an open order
    message: str


class TransitionOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    from_state: str | None
    to_state: str
    actor: str
    reason: str | None


class CallbackDetail(BaseModel):
    """One order with its whole trail (for staff: 004 Annex 1, "все этапы фиксируются")."""

    model_config = ConfigDict(frozen=True)

    id: int
    state: str
    state_text: str
    source: str
    phone: str  # masked
    attempts: int
    max_attempts: int
    due_at: datetime
    preferred_from: datetime | None
    preferred_to: datetime | None
    created_at: datetime
    updated_at: datetime
    last_call_id: int | None
    origin_call_id: int | None
    transitions: list[TransitionOut]
