"""Tier 2: the PBX-facing listener (FastAGI, AudioSocket) accepts only the PBX, and only so
many connections at once."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from telephony.agi import AgiSession, FastAgiServer
from telephony.audiosocket import AudioSocketServer, AudioStream, encode_hangup, encode_uuid
from telephony.server import resolve_peers

WAIT = 5.0
ENVIRONMENT = b"agi_network: yes\nagi_request: agi://127.0.0.1/hotline\nagi_channel: PJSIP/1\n\n"


async def closed_unanswered(port: int, data: bytes = ENVIRONMENT) -> bool:
    """Connect, send ``data``: True if the server closes the connection without a word."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    try:
        return await asyncio.wait_for(reader.read(), WAIT) == b""
    except ConnectionResetError:
        return True
    finally:
        writer.close()


def test_resolve_peers_normalises_addresses_and_names() -> None:
    assert resolve_peers(["::ffff:10.1.2.3", " 127.0.0.1 ", "", "localhost"]) >= {
        "10.1.2.3",
        "127.0.0.1",
    }
    with pytest.raises(ValueError, match="cannot resolve"):
        resolve_peers(["no-such-host.invalid"])


async def test_fastagi_refuses_a_peer_that_is_not_the_pbx() -> None:
    served: list[str] = []

    async def handler(session: AgiSession) -> None:
        served.append(session.env.channel)

    server = FastAgiServer("127.0.0.1", 0, {"hotline": handler}, allowed_peers=["192.0.2.7"])
    await server.start()
    try:
        assert await closed_unanswered(server.port)
        assert served == [] and server.refused == 1
    finally:
        await server.stop()


async def test_fastagi_serves_the_allowed_peer_given_by_name() -> None:
    served = asyncio.Event()

    async def handler(session: AgiSession) -> None:
        served.set()

    server = FastAgiServer("127.0.0.1", 0, {"hotline": handler}, allowed_peers=["localhost"])
    await server.start()
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(ENVIRONMENT)
        await asyncio.wait_for(served.wait(), WAIT)
        writer.close()
    finally:
        await server.stop()


async def test_fastagi_caps_concurrent_connections() -> None:
    release = asyncio.Event()
    started: asyncio.Queue[str] = asyncio.Queue()

    async def handler(session: AgiSession) -> None:
        started.put_nowait(session.env.channel)
        await release.wait()

    server = FastAgiServer("127.0.0.1", 0, {"hotline": handler}, max_connections=2)
    await server.start()
    try:
        held = []
        for _ in range(2):
            held.append(await asyncio.open_connection("127.0.0.1", server.port))
            held[-1][1].write(ENVIRONMENT)
            await asyncio.wait_for(started.get(), WAIT)
        assert server.active == 2
        assert await closed_unanswered(server.port)
        assert server.refused == 1
        release.set()
        for reader, writer in held:
            assert await asyncio.wait_for(reader.read(), WAIT) == b""
            writer.close()
        # Below the cap again: served.
        await asyncio.wait_for(_until(lambda: server.active == 0), WAIT)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(ENVIRONMENT)
        await asyncio.wait_for(started.get(), WAIT)
        writer.close()
    finally:
        await server.stop()


async def test_audiosocket_caps_concurrent_streams_and_refuses_strangers() -> None:
    release = asyncio.Event()
    streams: asyncio.Queue[AudioStream] = asyncio.Queue()

    async def on_stream(stream: AudioStream) -> None:
        streams.put_nowait(stream)
        await release.wait()

    server = AudioSocketServer("127.0.0.1", 0, on_stream, max_connections=1)
    await server.start()
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode_uuid(uuid.uuid4()))
        await asyncio.wait_for(streams.get(), WAIT)
        assert server.active == 1
        assert await closed_unanswered(server.port, encode_uuid(uuid.uuid4()))
        release.set()
        writer.write(encode_hangup())
        writer.close()
    finally:
        await server.stop()
    stranger = AudioSocketServer("127.0.0.1", 0, on_stream, allowed_peers=["192.0.2.7"])
    await stranger.start()
    try:
        assert await closed_unanswered(stranger.port, encode_uuid(uuid.uuid4()))
        assert streams.empty()
    finally:
        await stranger.stop()


async def _until(condition) -> None:  # type: ignore[no-untyped-def]
    while not condition():
        await asyncio.sleep(0.01)


def test_max_connections_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FastAgiServer("127.0.0.1", 0, {}, max_connections=0)


async def test_loopback_only_by_default_another_local_address_is_refused() -> None:
    """A process on the same machine but another address (127.0.0.2) is not the PBX."""
    served: list[str] = []

    async def handler(session: AgiSession) -> None:
        served.append(session.env.channel)

    server = FastAgiServer("127.0.0.1", 0, {"hotline": handler})
    await server.start()
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.port, local_addr=("127.0.0.2", 0)
        )
        writer.write(ENVIRONMENT)
        try:
            assert await asyncio.wait_for(reader.read(), WAIT) == b""
        except ConnectionResetError:
            pass
        writer.close()
        assert served == [] and server.refused == 1
    finally:
        await server.stop()
