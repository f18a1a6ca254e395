"""FastAGI: a pure protocol module and an asyncio server with one session per call."""

from telephony.agi.errors import (
    AgiDeadChannel,
    AgiError,
    AgiHangup,
    AgiInvalidCommand,
    AgiProtocolError,
    AgiTimeout,
    AgiUsageError,
)
from telephony.agi.protocol import (
    AgiEnvironment,
    AgiEvent,
    AgiParser,
    AgiResponse,
    HangupSignal,
    SpeechResult,
    check_response,
    encode_command,
    parse_environment,
    parse_response,
    speech_results,
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
    "AgiTimeout",
    "AgiUsageError",
    "FastAgiServer",
    "HangupSignal",
    "SpeechResult",
    "check_response",
    "encode_command",
    "parse_environment",
    "parse_response",
    "speech_results",
]
