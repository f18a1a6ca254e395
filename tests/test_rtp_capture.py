"""The caller-side RTP capture (tests/rtp_capture.py): packets to a track, and the capture itself
on loopback (UDP to the port captured once, other ports not at all)."""

from __future__ import annotations

import socket
import struct
import time

import numpy as np
from audio_match import ulaw_decode, ulaw_encode
from rtp_capture import RtpCapture, RtpPacket, assemble, parse_rtp


def rtp(seq: int, ts: int, payload: bytes, ssrc: int = 0x1234, pt: int = 0) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


def tone(n: int, level: int = 8000) -> bytes:
    return ulaw_encode((np.sin(np.arange(n) / 5) * level).astype(np.int16))


def test_parse_rtp() -> None:
    p = parse_rtp(rtp(7, 160, b"\xff" * 160), 1.0)
    assert parse_rtp(rtp(7, 160, b"\xff" * 160), 1.0, 24000) == RtpPacket(
        1.0, 24000, 0x1234, 7, 160, 0, b"\xff" * 160)
    assert p is not None and p.payload == b"\xff" * 160
    assert parse_rtp(b"\x00" * 20, 0.0) is None  # not version 2
    assert parse_rtp(b"\x80", 0.0) is None


def test_assemble_places_runs_by_timestamp_and_gaps_by_arrival() -> None:
    a = tone(160)
    packets = [RtpPacket(10.00 + i * 0.02 + (0.004 if i % 2 else 0), 0, 1, 100 + i,
                         5000 + i * 160, 0, a) for i in range(5)]  # jittered arrival, one run
    # 1 s of nothing, then a new source (another prompt after a bridge, say)
    packets += [RtpPacket(11.10 + i * 0.02, 0, 2, 7 + i, 90 + i * 160, 0, a) for i in range(3)]
    packets.append(RtpPacket(10.05, 0, 1, 300, 0, 101, b"\x00\x0a\x00\xa0"))  # an event: ignored
    track = assemble(packets)
    assert len(track) == round(1.10 * 8000) + 3 * 160
    assert np.array_equal(track[:160], ulaw_decode(a))
    assert np.array_equal(track[4 * 160 : 5 * 160], ulaw_decode(a))  # by timestamp, not arrival
    assert not track[5 * 160 : 8800].any()  # the silence keeps its length
    assert np.array_equal(track[8800 : 8800 + 160], ulaw_decode(a))


def test_capture_on_loopback_keeps_each_port_apart_and_sees_each_packet_once() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sink.bind(("127.0.0.1", 0))
        other.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        ports = sorted((port, other.getsockname()[1]))
        capture = RtpCapture(ports[0], ports[1]).start()
        try:
            for i in range(10):
                sender.sendto(rtp(i, i * 160, tone(160)), ("127.0.0.1", port))
                sender.sendto(rtp(i, i * 160, tone(160), ssrc=99), other.getsockname())
                sender.sendto(rtp(i, i * 160, tone(160), ssrc=7), ("127.0.0.1", 9))  # not captured
                time.sleep(0.002)
            deadline = time.monotonic() + 5
            while len(capture.packets) < 20 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.1)  # a duplicate (loopback's outgoing copy) would have arrived by now
        finally:
            capture.stop()
    mine = [p for p in capture.packets if p.port == port]
    assert [p.seq for p in mine] == list(range(10))
    assert {p.ssrc for p in mine} == {0x1234}
    assert {p.ssrc for p in capture.packets} == {0x1234, 99}
    assert len(capture.packets) == 20
    assert len(capture.audio(port)) == 1600
