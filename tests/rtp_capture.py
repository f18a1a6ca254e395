"""What a test caller hears: the RTP the PBX sends to the caller's media port, captured.

sipp cannot record what it receives, so the packets are read off the wire beside it: a Linux
packet socket on loopback (needs root, as the test suite runs; CAP_NET_RAW is enough) with a
kernel filter for UDP to sipp's media ports, read by a thread. The capture starts before the
call (whose media port is only chosen when it starts), and `audio(port)` keeps the caller's
packets, as one 8 kHz PCM track: contiguous packets are placed by their RTP timestamps, and
each new run (a new source, or a jump in sequence) where it arrived in time, so silences
between prompts keep their length.
"""

from __future__ import annotations

import ctypes
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from audio_match import RATE, ulaw_decode

ETH_P_IP = 0x0800
SO_ATTACH_FILTER = 26
PACKET_OUTGOING = 4  # on loopback each packet is seen going out and coming in: keep one
PCMU = 0
MEDIA_PORTS = (24000, 32003)  # where telephony.sipp.runner.free_media_port puts sipp's media


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def udp_dst_ports_filter(low: int, high: int) -> list[tuple[int, int, int, int]]:
    """Classic BPF, from the IP header on (a SOCK_DGRAM packet socket): IPv4 UDP, first
    fragment, destination port in `low`..`high`."""
    return [
        (0x30, 0, 0, 9),            # ldb [9]            IP protocol
        (0x15, 0, 7, 17),           # jeq #17 (UDP)      else drop
        (0x28, 0, 0, 6),            # ldh [6]            flags and fragment offset
        (0x45, 5, 0, 0x1FFF),       # jset #0x1fff       a later fragment: drop
        (0xB1, 0, 0, 0),            # ldxb 4*([0]&0xf)   IP header length
        (0x48, 0, 0, 2),            # ldh [x+2]          UDP destination port
        (0x35, 0, 2, low),          # jge #low           else drop
        (0x25, 1, 0, high),         # jgt #high          drop
        (0x06, 0, 0, 0x40000),      # ret: accept
        (0x06, 0, 0, 0),            # ret: drop
    ]


@dataclass(frozen=True)
class RtpPacket:
    arrival: float
    port: int  # the UDP destination port
    ssrc: int
    seq: int
    timestamp: int
    payload_type: int
    payload: bytes


def parse_rtp(data: bytes, arrival: float, port: int = 0) -> RtpPacket | None:
    """An RTP packet from a UDP payload (None if it is not RTP version 2)."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    csrc = data[0] & 0x0F
    offset = 12 + 4 * csrc
    if data[0] & 0x10 and len(data) >= offset + 4:  # header extension
        offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
    end = len(data)
    if data[0] & 0x20 and end > offset:  # padding
        end -= data[-1]
    seq, ts, ssrc = struct.unpack_from("!HII", data, 2)
    return RtpPacket(arrival, port, ssrc, seq, ts, data[1] & 0x7F, data[offset:end])


def assemble(packets: list[RtpPacket]) -> np.ndarray:
    """PCMU packets -> one PCM track from the first packet's arrival (other payloads ignored)."""
    audio = [p for p in sorted(packets, key=lambda p: p.arrival) if p.payload_type == PCMU]
    if not audio:
        return np.zeros(0, dtype=np.int16)
    t0 = audio[0].arrival
    pieces: list[tuple[int, np.ndarray]] = []
    run_start = run_ts = 0
    prev: RtpPacket | None = None
    for p in audio:
        contiguous = (prev is not None and p.ssrc == prev.ssrc
                      and 0 < (p.seq - prev.seq) % 65536 <= 5
                      and 0 < (p.timestamp - prev.timestamp) % 2**32 <= RATE)
        if contiguous:
            assert prev is not None
            pos = run_start + (p.timestamp - run_ts) % 2**32
        else:
            pos = round((p.arrival - t0) * RATE)
            if pieces:  # never back over the previous run
                last_pos, last = pieces[-1]
                pos = max(pos, last_pos + len(last))
            run_start, run_ts = pos, p.timestamp
        pieces.append((pos, ulaw_decode(p.payload)))
        prev = p
    length = max(pos + len(x) for pos, x in pieces)
    track = np.zeros(length, dtype=np.int16)
    for pos, x in pieces:
        track[pos : pos + len(x)] = x
    return track


@dataclass
class RtpCapture:
    """Captures UDP to ports `low`..`high` on loopback (where the test stack and its phones
    are) from `start()` to `stop()`: by default, every port sipp's media may take."""

    low: int = MEDIA_PORTS[0]
    high: int = MEDIA_PORTS[1]
    packets: list[RtpPacket] = field(default_factory=list)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> RtpCapture:
        try:
            # Protocol 0 until the filter is on: no packet is queued unfiltered.
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        except PermissionError as e:
            raise PermissionError("capturing what the caller hears needs root or CAP_NET_RAW "
                                  "(a packet socket); run the real-stack tests as root") from e
        program = udp_dst_ports_filter(self.low, self.high)
        insns = (_SockFilter * len(program))(*(_SockFilter(*i) for i in program))
        fprog = _SockFprog(len(program), insns)
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(fprog))
        sock.bind(("lo", ETH_P_IP))  # the PBX and its test phones are local
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.settimeout(0.2)
        self._sock = sock
        self._thread = threading.Thread(target=self._run, name=f"rtp-capture-{self.low}",
                                        daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                data, addr = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if addr[2] == PACKET_OUTGOING:
                continue
            arrival = time.monotonic()
            ihl = (data[0] & 0x0F) * 4
            port = struct.unpack_from("!H", data, ihl + 2)[0]
            packet = parse_rtp(data[ihl + 8 :], arrival, port)
            if packet is not None:
                self.packets.append(packet)

    def stop(self) -> RtpCapture:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._sock is not None:
            self._sock.close()
        return self

    def audio(self, port: int) -> np.ndarray:
        """What arrived at `port` (a caller's media port), as one 8 kHz PCM track."""
        return assemble([p for p in list(self.packets) if p.port == port])
