"""AudioSocket: a pure frame codec and an asyncio server with one stream per call."""

from telephony.audiosocket.errors import (
    AudioSocketClosed,
    AudioSocketError,
    AudioSocketProtocolError,
)
from telephony.audiosocket.protocol import (
    FRAME_BYTES,
    Audio,
    AudioSocketParser,
    Dtmf,
    Error,
    Frame,
    Hangup,
    Uuid,
    encode_audio,
    encode_dtmf,
    encode_error,
    encode_frame,
    encode_hangup,
    encode_uuid,
    frame_energy,
)
from telephony.audiosocket.server import AudioSocketServer, AudioStream, StreamHandler

__all__ = [
    "FRAME_BYTES",
    "Audio",
    "AudioSocketClosed",
    "AudioSocketError",
    "AudioSocketParser",
    "AudioSocketProtocolError",
    "AudioSocketServer",
    "AudioStream",
    "Dtmf",
    "Error",
    "Frame",
    "Hangup",
    "StreamHandler",
    "Uuid",
    "encode_audio",
    "encode_dtmf",
    "encode_error",
    "encode_frame",
    "encode_hangup",
    "encode_uuid",
    "frame_energy",
]
