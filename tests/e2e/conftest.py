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
