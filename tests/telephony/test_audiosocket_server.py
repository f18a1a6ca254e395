"""Tier 2: AudioSocketServer on a free port, driven by a fake Asterisk written here."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from telephony.audiosocket import (
    Audio,
    AudioSocketClosed,
    AudioSocketParser,
    AudioSocketServer,
    AudioStream,
    Frame,
    Hangup,
    encode_audio,
    encode_dtmf,
    encode_hangup,
    encode_uuid,
)

WAIT = 5.0
STREAM_ID = uuid.uuid4()


class Harness:
    def __init__(self) -> None:
        self.streams: asyncio.Queue[AudioStream] = asyncio.Queue()
        self.handler = self.echo
        self.server = AudioSocketServer("127.0.0.1", 0, self._on_stream)
        self.done: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()

    async def _on_stream(self, stream: AudioStream) -> None:
        self.streams.put_nowait(stream)
        await self.handler(stream)

    async def echo(self, stream: AudioStream) -> None:
        digits = []
        async for frame in stream:
            if isinstance(frame, Audio):
                await stream.send(frame.pcm)
            else:
                digits.append(frame.digit)
        self.done.set_result(
            {
                "uuid": stream.uuid,
                "digits": digits,
                "frames_in": stream.frames_in,
                "bytes_in": stream.bytes_in,
                "closed": stream.closed,
            }
        )


async def read_all_frames(reader: asyncio.StreamReader) -> list[Frame]:
    parser = AudioSocketParser()
    frames: list[Frame] = []
    while data := await asyncio.wait_for(reader.read(4096), WAIT):
        frames.extend(parser.feed(data))
    return frames


@pytest.fixture
async def audio() -> AsyncIterator[Harness]:
    harness = Harness()
    await harness.server.start()
    yield harness
    await harness.server.stop()


async def test_echo_returns_the_same_audio(audio: Harness) -> None:
    chunks = [bytes([i]) * 320 for i in range(1, 11)] + [b"\x01\x02" * 80]
    reader, writer = await asyncio.open_connection("127.0.0.1", audio.server.port)
    writer.write(encode_uuid(STREAM_ID))
    for i, chunk in enumerate(chunks):
        writer.write(encode_audio(chunk))
        if i == 4:
            writer.write(encode_dtmf("7"))
    writer.write(encode_dtmf("#") + encode_hangup())
    frames = await read_all_frames(reader)
    writer.close()
    received = b"".join(f.pcm for f in frames if isinstance(f, Audio))
    assert received == b"".join(chunks)
    assert all(len(f.pcm) <= 320 for f in frames if isinstance(f, Audio))
    summary = await asyncio.wait_for(audio.done, WAIT)
    assert summary == {
        "uuid": STREAM_ID,
        "digits": ["7", "#"],
        "frames_in": 11,
        "bytes_in": len(b"".join(chunks)),
        "closed": True,
    }


async def test_send_splits_into_320_byte_frames_and_hangup(audio: Harness) -> None:
    async def speak(stream: AudioStream) -> None:
        await stream.send(bytes(1000))
        await stream.hangup()
        with pytest.raises(AudioSocketClosed):
            await stream.send(bytes(320))
        audio.done.set_result({"frames_out": stream.frames_out, "bytes_out": stream.bytes_out})

    audio.handler = speak
    reader, writer = await asyncio.open_connection("127.0.0.1", audio.server.port)
    writer.write(encode_uuid(STREAM_ID))
    frames = await read_all_frames(reader)
    writer.close()
    assert [len(f.pcm) for f in frames if isinstance(f, Audio)] == [320, 320, 320, 40]
    assert isinstance(frames[-1], Hangup)
    assert await asyncio.wait_for(audio.done, WAIT) == {"frames_out": 4, "bytes_out": 1000}


async def test_eof_without_hangup_ends_iteration(audio: Harness) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", audio.server.port)
    writer.write(encode_uuid(STREAM_ID) + encode_audio(bytes(320)))
    await writer.drain()
    stream = await asyncio.wait_for(audio.streams.get(), WAIT)
    assert stream.uuid == STREAM_ID
    writer.close()
    summary = await asyncio.wait_for(audio.done, WAIT)
    assert summary["frames_in"] == 1 and summary["closed"] is True
    assert await asyncio.wait_for(reader.read(), WAIT) == encode_audio(bytes(320))


async def test_first_frame_must_be_the_uuid(audio: Harness) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", audio.server.port)
    writer.write(encode_audio(bytes(320)))
    assert await asyncio.wait_for(reader.read(), WAIT) == b""
    writer.close()
    assert audio.streams.empty()


async def test_garbage_closes_the_connection(audio: Harness) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", audio.server.port)
    writer.write(b"GET / HTTP/1.1\r\n\r\n")
    assert await asyncio.wait_for(reader.read(), WAIT) == b""
    writer.close()
    assert audio.streams.empty()


async def test_protocol_error_mid_stream_reaches_the_handler(audio: Harness) -> None:
    async def consume(stream: AudioStream) -> None:
        try:
            async for _ in stream:
                pass
        except Exception as exc:
            audio.done.set_result({"error": type(exc).__name__, "closed": stream.closed})

    audio.handler = consume
    reader, writer = await asyncio.open_connection("127.0.0.1", audio.server.port)
    writer.write(encode_uuid(STREAM_ID))
    await asyncio.wait_for(audio.streams.get(), WAIT)
    writer.write(b"\x42\x00\x00")
    assert await asyncio.wait_for(audio.done, WAIT) == {
        "error": "AudioSocketProtocolError",
        "closed": True,
    }
    assert await asyncio.wait_for(reader.read(), WAIT) == b""
    writer.close()


async def test_stop_cancels_running_streams(audio: Harness) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", audio.server.port)
    writer.write(encode_uuid(STREAM_ID))
    await asyncio.wait_for(audio.streams.get(), WAIT)
    await audio.server.stop()
    assert await asyncio.wait_for(reader.read(), WAIT) == b""
    writer.close()
    assert not audio.done.done()


async def test_a_silent_peer_ends_the_stream_after_the_idle_timeout(audio: Harness) -> None:
    """A socket silent for idle_timeout is a wedged peer: the stream ends, nothing hangs."""
    audio.server.idle_timeout = 0.3
    reader, writer = await asyncio.open_connection("127.0.0.1", audio.server.port)
    writer.write(encode_uuid(STREAM_ID) + encode_audio(bytes(320)))
    stream = await asyncio.wait_for(audio.streams.get(), WAIT)
    summary = await asyncio.wait_for(audio.done, WAIT)
    assert summary["frames_in"] == 1 and summary["closed"] is True and stream.timed_out
    assert await asyncio.wait_for(reader.read(), WAIT) == encode_audio(bytes(320))
    writer.close()
