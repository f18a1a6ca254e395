"""FastAGI: a pure protocol module and an asyncio server with one session per call."""

from telephony.agi.errors import (
    AgiDeadChannel,
    AgiError,
    AgiHangup,
    AgiInvalidCommand,
    AgiProtocolError,
    AgiUsageError,
)
from telephony.agi.protocol import (
    AgiEnvironment,
    AgiEvent,
    AgiParser,
    AgiResponse,
    HangupSignal,
    check_response,
    encode_command,
    parse_environment,
    parse_response,
)
from telephony.agi.server import AgiHandler, AgiSession, FastAgiServer

__all__ = [
    "AgiDeadChannel",
    "AgiEnvironment",
    "AgiError",
    "AgiEvent",
    "AgiHandler",
    "AgiHangup",
    "AgiInvalidCommand",
    "AgiParser",
    "AgiProtocolError",
    "AgiResponse",
    "AgiSession",
    "AgiUsageError",
    "FastAgiServer",
    "HangupSignal",
    "check_response",
    "encode_command",
    "parse_environment",
    "parse_response",
]
