"""The controller's FastAGI and AudioSocket listeners, on the real stack: the PBX is served,
any other address is refused unread (hotline/wiring.py passes the PBX's address)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from harness import Stack

from telephony.audiosocket import encode_uuid

pytestmark = pytest.mark.stack

NOT_THE_PBX = "127.0.0.2"  # this machine, but not the address the PBX connects from
WAIT = 10.0


def environment(script: str) -> bytes:
    return (
        "agi_network: yes\n"
        f"agi_request: agi://127.0.0.1/{script}\n"
        "agi_channel: PJSIP/stranger-00000001\n"
        "agi_uniqueid: 1.1\n\n"
    ).encode()


async def first_bytes(host: str, port: int, hello: bytes, source: str | None = None) -> bytes:
    local = (source, 0) if source else None
    reader, writer = await asyncio.open_connection(host, port, local_addr=local)
    writer.write(hello)
    try:
        return await asyncio.wait_for(reader.readline(), WAIT)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


async def test_fastagi_serves_the_pbx_address(e2e: Stack) -> None:
    s = e2e.settings
    line = await first_bytes(s.internal_bind_address, s.agi_port, environment("nope"))
    assert line == b"VERBOSE \"FastAGI: unknown script 'nope'\" 1\n"


async def test_fastagi_refuses_another_address_unread(e2e: Stack) -> None:
    s = e2e.settings
    hello = environment("hotline")
    assert await first_bytes(s.internal_bind_address, s.agi_port, hello, NOT_THE_PBX) == b""


async def test_audiosocket_refuses_another_address_unread(e2e: Stack) -> None:
    s = e2e.settings
    hello = encode_uuid(uuid.uuid4())
    assert await first_bytes(s.internal_bind_address, s.audiosocket_port, hello, NOT_THE_PBX) == b""
