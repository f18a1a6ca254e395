"""Fixtures of the real-call tests beyond the stack itself (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rtp_capture import RtpCapture


@pytest.fixture
def capture() -> Iterator[RtpCapture]:
    """Everything sent to sipp's media ports from before the call starts until the test ends."""
    cap = RtpCapture().start()
    try:
        yield cap
    finally:
        cap.stop()


@pytest.fixture(scope="session", autouse=True)
def demo_balances_dated_today(stack) -> None:  # type: ignore[no-untyped-def]
    """The demo file dates its balances on a fixed day; the IVR rightly refuses to tell a
    balance of unknown or great age, so the real-call tests date them yesterday (relative to
    the clock, not to the day the file was written)."""
    from datetime import date, timedelta

    from sqlalchemy import update

    from accounts.models import Account

    with stack.sessions.begin() as db:
        db.execute(update(Account).where(Account.balance_at.is_not(None))
                   .values(balance_at=date.today() - timedelta(days=1)))
