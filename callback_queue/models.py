"""Callback orders (заявки на обратный звонок) and the trail of every change to them.

Rules the tables keep (the service keeps them too, with Russian messages):
- ``phone`` is E.164; the number is personal data (152-FZ): masked wherever it is shown.
- At most one *open* order per phone (open: new, scheduled, dialing, no_answer). A second
  request for the same number updates the open order instead; a partial unique index
  enforces it on PostgreSQL and SQLite alike.
- Every change of state is a :class:`CallbackTransition` row with time, actor and reason,
  the registration trail 004 Annex 1 asks for ("все этапы ... фиксируются").
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from base.db import Base, StrEnumType, UtcDateTime, enum_check, utcnow

__all__ = [
    "OPEN_STATES",
    "CallbackOrder",
    "CallbackSource",
    "CallbackState",
    "CallbackTransition",
]


class CallbackSource(enum.StrEnum):
    """Where the order came from."""

    IVR_MENU = "ivr_menu"  # main menu, item 4
    IVR_QUEUE = "ivr_queue"  # offered instead of waiting in the operators' queue
    IVR_AFTER_HOURS = "ivr_after_hours"  # offered out of operators' hours
    WEB = "web"  # the website's form
    OPERATOR = "operator"  # an operator booked it for the customer


class CallbackState(enum.StrEnum):
    """The order's lifecycle; the allowed moves are in :mod:`callback_queue.lifecycle`."""

    NEW = "new"  # just registered
    SCHEDULED = "scheduled"  # waiting in the queue for its due time
    DIALING = "dialing"  # a dialer holds it: calling an operator, then the customer
    DONE = "done"  # the customer answered and was connected to an operator
    NO_ANSWER = "no_answer"  # the customer did not answer this attempt (retried or failed)
    FAILED = "failed"  # given up: no answer after the last attempt
    CANCELLED = "cancelled"  # withdrawn by the customer or staff


OPEN_STATES: frozenset[CallbackState] = frozenset(
    {CallbackState.NEW, CallbackState.SCHEDULED, CallbackState.DIALING, CallbackState.NO_ANSWER}
)



def _sql_list(states: Iterable[CallbackState]) -> str:
    return ", ".join(f"'{s.value}'" for s in sorted(states, key=list(CallbackState).index))


# The partial index's condition, written out for the database (the same text in 0003).
_OPEN_SQL = f"state IN ({_sql_list(OPEN_STATES)})"


class CallbackOrder(Base):
    __tablename__ = "callback_orders"
    __table_args__ = (
        # One open order per number: the second request updates the first.
        Index(
            "ix_callback_orders_phone_open",
            "phone",
            unique=True,
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
        Index(None, "state", "due_at"),  # the dialer's "what is due now"
        Index(None, "account_id"),
        enum_check("source", "source", CallbackSource),
        enum_check("state", "state", CallbackState),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("max_attempts >= 1", name="max_attempts_positive"),
        CheckConstraint(
            "preferred_from IS NULL OR preferred_to IS NULL OR preferred_from <= preferred_to",
            name="preferred_window",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(16))  # E.164: personal data
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    source: Mapped[CallbackSource] = mapped_column(StrEnumType(CallbackSource))
    state: Mapped[CallbackState] = mapped_column(StrEnumType(CallbackState))
    name: Mapped[str | None] = mapped_column(String(200))  # how to address the customer (web form)
    comment: Mapped[str | None] = mapped_column(String(1000))  # the customer's question, Russian
    # The customer's preferred window; the dialer does not call before preferred_from.
    preferred_from: Mapped[datetime | None] = mapped_column(UtcDateTime)
    preferred_to: Mapped[datetime | None] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)  # not to be dialled before this
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # times the customer was rung
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    # The attempt in progress or the last one: its Asterisk linkedid, and its call record.
    last_linkedid: Mapped[str | None] = mapped_column(String(64))
    last_call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    origin_call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    transitions: Mapped[list[CallbackTransition]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(CallbackTransition.at, CallbackTransition.id)",
    )

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def __repr__(self) -> str:
        return f"CallbackOrder(id={self.id!r}, state={self.state!r}, attempts={self.attempts!r})"


class CallbackTransition(Base):
    """One change of an order's state: when, from what, to what, who did it and why."""

    __tablename__ = "callback_transitions"
    __table_args__ = (
        Index(None, "order_id", "at"),
        CheckConstraint(
            f"from_state IS NULL OR from_state IN ({_sql_list(CallbackState)})",
            name="from_state",
        ),
        enum_check("to_state", "to_state", CallbackState),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("callback_orders.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    from_state: Mapped[CallbackState | None] = mapped_column(StrEnumType(CallbackState))  # None: created
    to_state: Mapped[CallbackState] = mapped_column(StrEnumType(CallbackState))
    actor: Mapped[str] = mapped_column(String(64))  # 'ivr', 'web', 'dialer:<node>', 'operator:<login>'
    reason: Mapped[str | None] = mapped_column(String(500))  # Russian, read by the contact-centre head

    order: Mapped[CallbackOrder] = relationship(back_populates="transitions")

    def __repr__(self) -> str:
        return (
            f"CallbackTransition(order_id={self.order_id!r}, {self.from_state!s}->{self.to_state!s}, "
            f"actor={self.actor!r})"
        )
