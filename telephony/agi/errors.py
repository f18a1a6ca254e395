"""Exceptions of the FastAGI package: one class per AGI failure a handler may meet."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telephony.agi.protocol import AgiResponse


class AgiError(Exception):
    """Base class of every AGI error; ``response`` is the offending reply, if any."""

    def __init__(self, message: str, response: AgiResponse | None = None) -> None:
        super().__init__(message)
        self.response = response


class AgiProtocolError(AgiError, ValueError):
    """Asterisk sent bytes that break the AGI framing rules or the parser limits."""


class AgiInvalidCommand(AgiError):
    """``510 Invalid or unknown command``."""


class AgiDeadChannel(AgiError):
    """``511 Command Not Permitted on a dead channel or intercept routine``."""


class AgiUsageError(AgiError):
    """``520 Invalid command syntax``; the usage text is in ``response.data``."""


class AgiTimeout(AgiError, TimeoutError):
    """No final reply to a command within its timeout; the connection is closed after it
    (a late reply would otherwise be taken as the next command's)."""


class AgiHangup(AgiError):
    """The caller hung up (``HANGUP`` line, result -1 or closed connection).

    This is the normal end of most calls, not a failure.
    """
