"""Tier 1: AudioSocket frames through the pure parser and encoders."""

from __future__ import annotations

import math
import struct
import uuid

import pytest

from telephony.audiosocket import (
    Audio,
    AudioSocketParser,
    AudioSocketProtocolError,
    Dtmf,
    Error,
    Frame,
    Hangup,
    Uuid,
    encode_audio,
    encode_dtmf,
    encode_frame,
    encode_hangup,
    frame_energy,
)

STREAM_ID = uuid.UUID("3f2504e0-4f89-41d3-9a0c-0305e82c3301")
PCM_20MS = bytes(range(256)) + bytes(64)
FRAMES: list[Frame] = [
    Uuid(STREAM_ID),
    Audio(PCM_20MS),
    Audio(PCM_20MS * 2),
    Dtmf("5"),
    Audio(b"\x01\x00"),
    Dtmf("#"),
    Audio(bytes(640), sample_rate=16000),
    Error(1),
    Hangup(),
]
WIRE = (
    b"\x01\x00\x10"
    + STREAM_ID.bytes
    + b"\x10\x01\x40"
    + PCM_20MS
    + b"\x10\x02\x80"
    + PCM_20MS * 2
    + b"\x03\x00\x015"
    + b"\x10\x00\x02\x01\x00"
    + b"\x03\x00\x01#"
    + b"\x12\x02\x80"
    + bytes(640)
    + b"\xff\x00\x01\x01"
    + b"\x00\x00\x00"
)


def feed_in_chunks(data: bytes, size: int) -> list[Frame]:
    parser = AudioSocketParser()
    frames: list[Frame] = []
    for start in range(0, len(data), size):
        frames.extend(parser.feed(data[start : start + size]))
    return frames


@pytest.mark.parametrize("size", [*range(1, 48), 319, 320, 321, len(WIRE)])
def test_wire_in_every_chunk_size(size: int) -> None:
    assert feed_in_chunks(WIRE, size) == FRAMES


def test_encoders_produce_the_wire_bytes() -> None:
    assert b"".join(encode_frame(frame) for frame in FRAMES) == WIRE
    assert encode_hangup() == b"\x00\x00\x00"
    assert encode_audio(b"\x00\x01") == b"\x10\x00\x02\x00\x01"
    assert encode_dtmf("7") == b"\x03\x00\x017"


def test_partial_frame_waits_for_more_bytes() -> None:
    parser = AudioSocketParser()
    assert parser.feed(b"\x10\x01") == []
    assert parser.feed(b"\x40" + PCM_20MS[:100]) == []
    assert parser.feed(PCM_20MS[100:]) == [Audio(PCM_20MS)]


def test_unknown_kind_quotes_the_header() -> None:
    parser = AudioSocketParser()
    with pytest.raises(AudioSocketProtocolError, match=r"0x02.*b'\\x02\\x00\\x04'"):
        parser.feed(b"\x02\x00\x04abcd")
    with pytest.raises(AudioSocketProtocolError):
        parser.feed(encode_hangup())  # the parser stays failed


def test_oversize_payload_is_refused_from_the_header() -> None:
    with pytest.raises(AudioSocketProtocolError, match="2000 bytes exceeds the 1000 byte limit"):
        AudioSocketParser(max_payload=1000).feed(b"\x10" + struct.pack(">H", 2000))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x10\x00\x03abc", "odd audio payload"),
        (b"\x01\x00\x04abcd", "UUID payload must be 16 bytes"),
        (b"\x03\x00\x01x", "DTMF payload"),
        (b"\x03\x00\x0212", "DTMF payload"),
        (b"\xff\x00\x09" + bytes(9), "error code longer"),
    ],
)
def test_malformed_frames(data: bytes, reason: str) -> None:
    with pytest.raises(AudioSocketProtocolError, match=reason):
        AudioSocketParser().feed(data)


def test_encoders_refuse_what_asterisk_refuses() -> None:
    for bad in (b"", b"\x00"):
        with pytest.raises(ValueError):
            encode_audio(bad)
    with pytest.raises(ValueError):
        encode_audio(bytes(70_000))
    with pytest.raises(ValueError):
        encode_audio(b"\x00\x00", sample_rate=11025)
    with pytest.raises(ValueError):
        encode_dtmf("x")


def sine(amplitude: float, samples: int = 160) -> bytes:
    values = [
        round(amplitude * 32767 * math.sin(2 * math.pi * 400 * n / 8000)) for n in range(samples)
    ]
    return struct.pack(f"<{samples}h", *values)


def test_frame_energy() -> None:
    assert frame_energy(bytes(320)) == -math.inf
    assert frame_energy(b"") == -math.inf
    square = struct.pack("<4h", 32767, -32768, 32767, -32768)
    assert frame_energy(square) == pytest.approx(0.0, abs=0.01)
    assert frame_energy(sine(1.0)) == pytest.approx(-3.01, abs=0.05)
    assert frame_energy(sine(0.5)) == pytest.approx(-9.03, abs=0.05)
    assert frame_energy(struct.pack("<h", 1)) == pytest.approx(-90.31, abs=0.01)
    with pytest.raises(ValueError):
        frame_energy(b"\x00")
