"""sipp caller scenarios: a success means every step ran.

Two tiers: the generated XML (pure), and real sipp against a fake PBX on a free UDP port that
answers and then hangs up early, on time, or never.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from telephony.sipp import Caller, Dtmf, ExpectHangup, Go, Hangup, Pause
from telephony.sipp.scenarios import callee_scenario, caller_scenario


def _xml(steps: list) -> ET.Element:
    return ET.fromstring(caller_scenario(steps).encode("iso-8859-1"))


def test_no_global_bye_anywhere() -> None:
    for steps in ([Pause(100), Hangup()], [Go(), Dtmf("1"), ExpectHangup()]):
        assert 'optional="global"' not in caller_scenario(steps)
    for mode in ("answer", "reject", "ring"):
        assert 'optional="global"' not in callee_scenario(mode, hold_ms=500)


def test_expect_hangup_is_the_only_bye_the_caller_waits_for() -> None:
    root = _xml([Go(), Pause(400), Dtmf("2"), ExpectHangup(60_000)])
    byes = [e for e in root if e.tag == "recv" and e.get("request") == "BYE"]
    assert len(byes) == 1
    assert byes[0].get("timeout") == "60000"
    assert byes[0].get("ontimeout") is None  # no BYE in time: the call fails
    assert byes[0].get("optional") is None
    # ... and it comes after every key and wait of the scenario.
    tags = [e.tag for e in root]
    assert tags.index("recv", tags.index("nop")) > 0
    last_key = max(i for i, e in enumerate(root)
                   if e.tag == "nop" and "play_pcap_audio" in ET.tostring(e, "unicode"))
    assert list(root).index(byes[0]) > last_key


def test_hangup_scenario_waits_for_no_bye() -> None:
    root = _xml([Pause(300), Hangup()])
    assert not [e for e in root if e.tag == "recv" and e.get("request") == "BYE"]
    sends = [e.text or "" for e in root if e.tag == "send"]
    assert sends[-2].strip().startswith("BYE sip:")  # then the unreachable 200 for a PBX BYE


@pytest.mark.parametrize("steps", [
    [],
    [Pause(100)],
    [Go(), Dtmf("1")],
    [Hangup(), Pause(100)],
    [ExpectHangup(), Hangup()],
    [Hangup(), ExpectHangup()],
], ids=["empty", "pause", "keys", "hangup-first", "both", "both-reversed"])
def test_who_ends_the_call_is_said_once_and_last(steps: list) -> None:
    with pytest.raises(ValueError, match="Hangup"):
        caller_scenario(steps)


# ---- real sipp against a fake PBX ---------------------------------------------------------


class FakePbx(asyncio.DatagramProtocol):
    """Answers one INVITE with 200 OK, then sends BYE `bye_after` seconds after the ACK (or
    never), and answers the caller's BYE with 200 OK."""

    def __init__(self, bye_after: float | None) -> None:
        self.bye_after = bye_after
        self.transport: asyncio.DatagramTransport | None = None
        self.invite: dict[str, str] = {}
        self.peer: tuple[str, int] | None = None
        self.got_200_for_bye = asyncio.Event()
        self.got_caller_bye = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        text = data.decode(errors="replace")
        first, _, rest = text.partition("\r\n")
        headers = _headers(rest)
        if first.startswith("INVITE "):
            self.invite, self.peer = headers, addr
            self._reply(headers, "200 OK", sdp=True)
        elif first.startswith("ACK ") and self.bye_after is not None:
            asyncio.get_running_loop().call_later(self.bye_after, self._bye)
        elif first.startswith("BYE "):
            self.got_caller_bye.set()
            self._reply(headers, "200 OK")
        elif first.startswith("SIP/2.0 200") and "BYE" in headers.get("cseq", ""):
            self.got_200_for_bye.set()

    def _reply(self, h: dict[str, str], status: str, sdp: bool = False) -> None:
        assert self.transport is not None
        to = h["to"] if ";tag=" in h["to"] else h["to"] + ";tag=fakepbx"
        port = self.transport.get_extra_info("sockname")[1]
        body = (
            "v=0\r\no=fake 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        ) if sdp else ""
        msg = (
            f"SIP/2.0 {status}\r\nVia: {h['via']}\r\nFrom: {h['from']}\r\nTo: {to}\r\n"
            f"Call-ID: {h['call-id']}\r\nCSeq: {h['cseq']}\r\n"
            f"Contact: <sip:pbx@127.0.0.1:{port}>\r\n"
            + ("Content-Type: application/sdp\r\n" if sdp else "")
            + f"Content-Length: {len(body)}\r\n\r\n{body}"
        )
        self.transport.sendto(msg.encode(), self.peer)

    def _bye(self) -> None:
        assert self.transport is not None and self.peer is not None
        h = self.invite
        port = self.transport.get_extra_info("sockname")[1]
        contact = h["contact"].strip("<>").split(">")[0]
        msg = (
            f"BYE {contact} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKfakebye\r\n"
            f"From: {h['to']};tag=fakepbx\r\nTo: {h['from']}\r\nCall-ID: {h['call-id']}\r\n"
            "CSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        self.transport.sendto(msg.encode(), self.peer)


def _headers(rest: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in rest.split("\r\n\r\n", 1)[0].split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            out.setdefault(name.strip().lower(), value.strip())
    return out


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _run(tmp_path: Path, steps: list, bye_after: float | None) -> tuple[bool, FakePbx, str]:
    if shutil.which("sipp") is None:
        pytest.fail("sipp is not installed: run `make setup` (Debian package sip-tester)")
    loop = asyncio.get_running_loop()
    pbx = FakePbx(bye_after)
    transport, _ = await loop.create_datagram_endpoint(
        lambda: pbx, local_addr=("127.0.0.1", _free_port()))
    try:
        port = transport.get_extra_info("sockname")[1]
        caller = Caller("8800", "79990000099", steps, tmp_path / "sipp", "127.0.0.1", port)
        await caller.start()
        result = await caller.wait(30)
        return result.ok, pbx, result.explain()
    finally:
        transport.close()


async def test_bye_from_the_pbx_during_a_pause_fails_the_call(tmp_path: Path) -> None:
    ok, pbx, explain = await _run(tmp_path, [Pause(4000), Hangup()], bye_after=0.5)
    assert not ok, explain
    assert pbx.got_200_for_bye.is_set()  # sipp still answered the BYE
    assert not pbx.got_caller_bye.is_set()  # and never reached its own Hangup()
    assert "unexpected" in explain.lower(), explain


async def test_bye_from_the_pbx_before_the_expected_hangup_fails_the_call(tmp_path: Path) -> None:
    ok, _, explain = await _run(tmp_path, [Pause(4000), ExpectHangup(10_000)], bye_after=0.5)
    assert not ok, explain


async def test_bye_from_the_pbx_where_expected_succeeds(tmp_path: Path) -> None:
    ok, pbx, explain = await _run(tmp_path, [Pause(300), ExpectHangup(10_000)], bye_after=1.0)
    assert ok, explain
    assert pbx.got_200_for_bye.is_set()


async def test_a_pbx_that_never_hangs_up_fails_an_expected_hangup(tmp_path: Path) -> None:
    ok, _, explain = await _run(tmp_path, [ExpectHangup(1500)], bye_after=None)
    assert not ok, explain


async def test_caller_hangup_with_no_pbx_bye_succeeds(tmp_path: Path) -> None:
    ok, pbx, explain = await _run(tmp_path, [Pause(300), Hangup()], bye_after=None)
    assert ok, explain
    assert pbx.got_caller_bye.is_set()
