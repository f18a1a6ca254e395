"""The AudioSocket wire protocol (Asterisk ``AudioSocket()``), without I/O.

Bytes go into :meth:`AudioSocketParser.feed`, frozen frames come out; ``encode_*``
functions build frames. Nothing here touches a socket.

Rules this module keeps:

* A frame is ``kind`` (1 byte), payload length (2 bytes, big-endian), payload.
* Kinds: ``0x00`` hangup (payload ignored), ``0x01`` UUID (exactly 16 bytes),
  ``0x03`` DTMF (exactly 1 ASCII byte among ``0-9 * # A-D``), ``0x10`` audio:
  signed linear 16-bit little-endian mono at 8 kHz (20 ms = 320 bytes, but any even
  length is accepted), ``0x11``-``0x18`` the same at 12, 16, 24, 32, 44.1, 48, 96 and
  192 kHz (newer Asterisk releases), ``0xff`` error (payload: an optional code of at
  most 8 bytes, big-endian; ``0`` when empty).
* Any other kind, an odd audio length, or a payload longer than ``max_payload``
  raises :class:`AudioSocketProtocolError` quoting the frame header (and the start of
  the payload); the parser is then unusable.
* Asterisk accepts only hangup and non-empty audio frames from the server, so the
  encoders refuse empty audio.
"""

from __future__ import annotations

import math
import sys
import uuid
from array import array
from dataclasses import dataclass
from typing import NoReturn

from telephony.audiosocket.errors import AudioSocketProtocolError

__all__ = [
    "FRAME_BYTES",
    "Audio",
    "AudioSocketParser",
    "Dtmf",
    "Error",
    "Frame",
    "Hangup",
    "Uuid",
    "encode_audio",
    "encode_dtmf",
    "encode_error",
    "encode_frame",
    "encode_hangup",
    "encode_uuid",
    "frame_energy",
]

KIND_HANGUP = 0x00
KIND_UUID = 0x01
KIND_DTMF = 0x03
KIND_AUDIO = 0x10
KIND_ERROR = 0xFF
AUDIO_KIND_RATES: dict[int, int] = {
    0x10: 8000,
    0x11: 12000,
    0x12: 16000,
    0x13: 24000,
    0x14: 32000,
    0x15: 44100,
    0x16: 48000,
    0x17: 96000,
    0x18: 192000,
}
RATE_AUDIO_KINDS = {rate: kind for kind, rate in AUDIO_KIND_RATES.items()}
FRAME_BYTES = 320  # 20 ms of 8 kHz signed linear 16-bit mono
DTMF_DIGITS = frozenset("0123456789*#ABCD")
HEADER_BYTES = 3
MAX_WIRE_PAYLOAD = 0xFFFF


@dataclass(frozen=True, slots=True)
class Hangup:
    """The peer ends the stream."""


@dataclass(frozen=True, slots=True)
class Uuid:
    """The stream identifier, always the first frame Asterisk sends."""

    uuid: uuid.UUID


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str


@dataclass(frozen=True, slots=True)
class Audio:
    """Signed linear 16-bit little-endian mono samples."""

    pcm: bytes
    sample_rate: int = 8000


@dataclass(frozen=True, slots=True)
class Error:
    """An error frame; Asterisk uses 1 = caller hung up, 2 = frame forwarding, 4 = memory."""

    code: int


Frame = Hangup | Uuid | Dtmf | Audio | Error


def _fail(reason: str, header: bytes, payload: bytes = b"") -> NoReturn:
    shown = payload[:32]
    more = f" (+{len(payload) - len(shown)} bytes)" if len(payload) > len(shown) else ""
    raise AudioSocketProtocolError(
        f"AudioSocket protocol error: {reason}: header {header!r}, payload {shown!r}{more}"
    )


class AudioSocketParser:
    """Incremental AudioSocket parser: ``feed`` bytes in any chunking, get whole frames."""

    def __init__(self, *, max_payload: int = 16 * 1024) -> None:
        self.max_payload = max_payload
        self._buffer = bytearray()
        self._error: AudioSocketProtocolError | None = None

    def feed(self, data: bytes) -> list[Frame]:
        """Consume ``data``; return the frames it completes (possibly none)."""
        if self._error is not None:
            raise self._error
        self._buffer += data
        frames: list[Frame] = []
        start = 0
        try:
            while len(self._buffer) - start >= HEADER_BYTES:
                header = bytes(self._buffer[start : start + HEADER_BYTES])
                kind, length = header[0], int.from_bytes(header[1:3], "big")
                if kind not in AUDIO_KIND_RATES and kind not in (
                    KIND_HANGUP,
                    KIND_UUID,
                    KIND_DTMF,
                    KIND_ERROR,
                ):
                    _fail(f"unknown frame kind 0x{kind:02x}", header)
                if length > self.max_payload:
                    _fail(
                        f"payload of {length} bytes exceeds the {self.max_payload} byte limit",
                        header,
                    )
                end = start + HEADER_BYTES + length
                if len(self._buffer) < end:
                    break
                payload = bytes(self._buffer[start + HEADER_BYTES : end])
                start = end
                frames.append(_decode(kind, header, payload))
        except AudioSocketProtocolError as exc:
            self._error = exc
            raise
        finally:
            del self._buffer[:start]
        return frames


def _decode(kind: int, header: bytes, payload: bytes) -> Frame:
    if kind in AUDIO_KIND_RATES:
        if len(payload) % 2:
            _fail("odd audio payload length", header, payload)
        return Audio(payload, AUDIO_KIND_RATES[kind])
    if kind == KIND_HANGUP:
        return Hangup()
    if kind == KIND_UUID:
        if len(payload) != 16:
            _fail("UUID payload must be 16 bytes", header, payload)
        return Uuid(uuid.UUID(bytes=payload))
    if kind == KIND_DTMF:
        digit = payload.decode("ascii", errors="replace").upper()
        if len(payload) != 1 or digit not in DTMF_DIGITS:
            _fail("DTMF payload must be one of 0-9 * # A-D", header, payload)
        return Dtmf(digit)
    if len(payload) > 8:
        _fail("error code longer than 8 bytes", header, payload)
    return Error(int.from_bytes(payload, "big"))


def _frame(kind: int, payload: bytes) -> bytes:
    if len(payload) > MAX_WIRE_PAYLOAD:
        raise ValueError(f"AudioSocket payload of {len(payload)} bytes is over {MAX_WIRE_PAYLOAD}")
    return bytes([kind]) + len(payload).to_bytes(2, "big") + payload


def encode_audio(pcm: bytes, sample_rate: int = 8000) -> bytes:
    """One audio frame; ``pcm`` must be non-empty signed linear 16-bit (even length)."""
    if not pcm or len(pcm) % 2:
        raise ValueError(f"audio must be a non-empty even number of bytes, got {len(pcm)}")
    if sample_rate not in RATE_AUDIO_KINDS:
        raise ValueError(f"AudioSocket has no frame kind for {sample_rate} Hz")
    return _frame(RATE_AUDIO_KINDS[sample_rate], pcm)


def encode_hangup() -> bytes:
    return _frame(KIND_HANGUP, b"")


def encode_uuid(value: uuid.UUID) -> bytes:
    return _frame(KIND_UUID, value.bytes)


def encode_dtmf(digit: str) -> bytes:
    if digit not in DTMF_DIGITS:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return _frame(KIND_DTMF, digit.encode("ascii"))


def encode_error(code: int = 0) -> bytes:
    return _frame(KIND_ERROR, bytes([code]) if code < 256 else code.to_bytes(8, "big"))


def encode_frame(frame: Frame) -> bytes:
    """Any frame back to bytes (useful for fakes and tests)."""
    if isinstance(frame, Audio):
        return encode_audio(frame.pcm, frame.sample_rate)
    if isinstance(frame, Hangup):
        return encode_hangup()
    if isinstance(frame, Uuid):
        return encode_uuid(frame.uuid)
    if isinstance(frame, Dtmf):
        return encode_dtmf(frame.digit)
    return encode_error(frame.code)


def frame_energy(pcm: bytes) -> float:
    """RMS level of signed linear 16-bit little-endian audio in dBFS (``-inf`` for silence).

    A full-scale square wave is 0 dBFS, a full-scale sine about -3 dBFS.
    """
    if len(pcm) % 2:
        raise ValueError(f"signed linear 16-bit audio needs an even length, got {len(pcm)}")
    samples = array("h")
    samples.frombytes(pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return -math.inf
    mean_square = sum(sample * sample for sample in samples) / len(samples)
    if mean_square == 0:
        return -math.inf
    return 10 * math.log10(mean_square / (32768 * 32768))
