"""Exceptions of the AMI package: one class per failure a caller may handle."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telephony.ami.protocol import AmiMessage


class AmiError(Exception):
    """Base class of every AMI error."""


class AmiProtocolError(AmiError, ValueError):
    """The peer sent bytes that break the AMI framing rules or the parser limits."""


class AmiNotConnected(AmiError):
    """An action was requested while the client is not logged in."""


class AmiDisconnected(AmiError):
    """The connection was lost while an action was waiting for its response."""


class AmiTimeout(AmiError, TimeoutError):
    """No response (or no complete event list) arrived in time."""


class AmiActionError(AmiError):
    """Asterisk answered an action with ``Response: Error``."""

    def __init__(self, message: AmiMessage) -> None:
        self.message = message
        self.text = message.get("Message", "") or ""
        super().__init__(f"AMI action failed: {self.text or message!r}")
