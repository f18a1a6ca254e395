"""RFC 2833/4733 key presses as pcap files for sipp's play_pcap_audio (pure: bytes out).

The pcaps shipped with sip-tester each hold one key with a fixed RTP sequence number and
timestamp; replayed one after another, a later key can carry an older sequence number than
the one before (e.g. "4" then "2"), and Asterisk drops it as a late packet. So each call gets
its own pcaps, numbered in the order the keys are pressed, with sequence numbers and
timestamps that only ever increase.
"""

from __future__ import annotations

import struct
from pathlib import Path

EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
PAYLOAD_TYPE = 101
PACKET_MS = 20
TONE_PACKETS = 7  # 140 ms of tone, then three end-of-event packets
VOLUME = 10
SRC = ("127.0.0.1", 6000)  # rewritten by sipp: only the payload matters
DST = ("127.0.0.1", 6000)


def _ip(addr: str) -> bytes:
    return bytes(int(x) for x in addr.split("."))


def _packet(payload: bytes) -> bytes:
    udp_len = 8 + len(payload)
    udp = struct.pack("!HHHH", SRC[1], DST[1], udp_len, 0) + payload
    total = 20 + len(udp)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, 17, 0, _ip(SRC[0]), _ip(DST[0]))
    checksum = _checksum(header)
    header = header[:10] + struct.pack("!H", checksum) + header[12:]
    ethernet = b"\x00" * 12 + b"\x08\x00"
    return ethernet + header + udp


def _checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def dtmf_pcap(digit: str, seq: int, timestamp: int, ssrc: int = 0x48544C4E) -> bytes:
    """One key press: a pcap (Ethernet link type) of RTP telephone-event packets."""
    if digit not in EVENTS:
        raise ValueError(f"not a DTMF key: {digit!r}")
    event = EVENTS[digit]
    records = []
    t_us = 0
    for i in range(TONE_PACKETS + 3):
        end = i >= TONE_PACKETS
        duration = (min(i, TONE_PACKETS) + (1 if end else 0)) * 8 * PACKET_MS
        marker = 0x80 if i == 0 else 0
        pkt_seq = seq + min(i, TONE_PACKETS)  # end packets repeat one sequence number
        rtp = struct.pack("!BBHII", 0x80, marker | PAYLOAD_TYPE, pkt_seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc)
        body = struct.pack("!BBH", event, (0x80 if end else 0) | VOLUME, duration)
        frame = _packet(rtp + body)
        records.append(struct.pack("<IIII", t_us // 1_000_000, t_us % 1_000_000, len(frame), len(frame)) + frame)
        if i < TONE_PACKETS:
            t_us += PACKET_MS * 1000
        else:
            t_us += 100
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    return header + b"".join(records)


def write_call_pcaps(digits: str, folder: Path) -> list[Path]:
    """Pcaps for the keys of one call, in order: file k holds the k-th key pressed."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, digit in enumerate(digits):
        path = folder / f"dtmf_{k:03d}.pcap"
        path.write_bytes(dtmf_pcap(digit, seq=1000 + k * 20, timestamp=160_000 + k * 16_000))
        paths.append(path)
    return paths
