"""Asterisk Manager Interface: a pure protocol module and a self-healing asyncio client."""

from telephony.ami.client import AmiClient, ConnectCallback, DisconnectCallback, EventHandler
from telephony.ami.errors import (
    AmiActionError,
    AmiDisconnected,
    AmiError,
    AmiNotConnected,
    AmiProtocolError,
    AmiTimeout,
)
from telephony.ami.protocol import AmiMessage, AmiParser, FieldValue, MessageKind, encode_action

__all__ = [
    "AmiActionError",
    "AmiClient",
    "AmiDisconnected",
    "AmiError",
    "AmiMessage",
    "AmiNotConnected",
    "AmiParser",
    "AmiProtocolError",
    "AmiTimeout",
    "ConnectCallback",
    "DisconnectCallback",
    "EventHandler",
    "FieldValue",
    "MessageKind",
    "encode_action",
]
