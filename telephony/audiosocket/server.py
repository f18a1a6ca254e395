"""asyncio edge of the AudioSocket package: a TCP server and one stream per call.

Asterisk's ``AudioSocket(<uuid>,host:port)`` connects, sends the UUID frame, then
audio (and DTMF) frames. The server checks the UUID frame and runs
``on_stream(stream)`` in its own task; the stream is closed when it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from telephony.audiosocket.errors import AudioSocketClosed, AudioSocketError
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
    encode_hangup,
)

__all__ = ["AudioSocketServer", "AudioStream", "StreamHandler"]

from telephony.server import DEFAULT_MAX_CONNECTIONS, LOOPBACK, TcpService

logger = logging.getLogger("telephony.audiosocket")

_READ_SIZE = 16 * 1024
# Asterisk forwards the caller's frames as they come: a phone with silence suppression may
# send none for a while, so the bound is generous. It only ends streams of a wedged peer.
IDLE_TIMEOUT = 60.0


class AudioStream:
    """One call's audio: iterate to receive, :meth:`send` to play back.

    Iteration yields :class:`Audio` and :class:`Dtmf` frames and ends on a hangup
    frame, when Asterisk closes the connection, or when nothing at all arrives for
    ``idle_timeout`` seconds (a wedged peer; the stream is then closed). Error frames are
    logged and kept in ``errors``.
    """

    def __init__(
        self,
        stream_id: uuid.UUID,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        parser: AudioSocketParser,
        pending: list[Frame] | None = None,
        *,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self.uuid = stream_id
        self.idle_timeout = idle_timeout
        self.timed_out = False
        self.frames_in = 0
        self.bytes_in = 0
        self.frames_out = 0
        self.bytes_out = 0
        self.errors: list[int] = []
        self._reader = reader
        self._writer = writer
        self._parser = parser
        self._pending: deque[Frame] = deque(pending or ())
        self._ended = False  # nothing more will be received
        self._closed = False  # nothing more may be sent
        self._send_lock = asyncio.Lock()

    @property
    def closed(self) -> bool:
        """True once the peer hung up or disconnected, or the stream was closed here."""
        return self._closed or self._ended

    def __aiter__(self) -> AsyncIterator[Audio | Dtmf]:
        return self

    async def __anext__(self) -> Audio | Dtmf:
        while True:
            if not self._pending:
                if self._ended:
                    raise StopAsyncIteration
                await self._receive()
                continue
            frame = self._pending.popleft()
            if isinstance(frame, Audio):
                self.frames_in += 1
                self.bytes_in += len(frame.pcm)
                return frame
            if isinstance(frame, Dtmf):
                return frame
            if isinstance(frame, Hangup):
                logger.debug("audiosocket %s: hangup frame received", self.uuid)
                self._end()
            elif isinstance(frame, Error):
                logger.warning("audiosocket %s: error frame, code %d", self.uuid, frame.code)
                self.errors.append(frame.code)
            elif isinstance(frame, Uuid):
                logger.warning(
                    "audiosocket %s: unexpected second UUID frame %s", self.uuid, frame.uuid
                )

    async def send(self, pcm: bytes) -> None:
        """Send 8 kHz signed linear audio, split into 320-byte frames. No pacing here."""
        if len(pcm) % 2:
            raise ValueError(f"signed linear 16-bit audio needs an even length, got {len(pcm)}")
        async with self._send_lock:
            for start in range(0, len(pcm), FRAME_BYTES):
                if self.closed:
                    raise AudioSocketClosed(f"audiosocket {self.uuid}: stream is closed")
                chunk = pcm[start : start + FRAME_BYTES]
                try:
                    self._writer.write(encode_audio(chunk))
                    await self._writer.drain()
                except OSError as exc:
                    self._closed = True
                    raise AudioSocketClosed(
                        f"audiosocket {self.uuid}: connection lost: {exc}"
                    ) from exc
                self.frames_out += 1
                self.bytes_out += len(chunk)

    async def hangup(self) -> None:
        """Ask Asterisk to end the AudioSocket application, then close."""
        if not self.closed:
            try:
                self._writer.write(encode_hangup())
                await self._writer.drain()
            except OSError:
                pass
        await self.close()

    async def close(self) -> None:
        """Close the connection without a hangup frame (idempotent)."""
        self._closed = True
        self._end()
        if not self._writer.is_closing():
            self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    def _end(self) -> None:
        self._ended = True
        self._pending.clear()

    async def _receive(self) -> None:
        try:
            async with asyncio.timeout(self.idle_timeout):
                data = await self._reader.read(_READ_SIZE)
        except TimeoutError:
            logger.warning(
                "audiosocket %s: nothing received for %g s; closing the stream",
                self.uuid,
                self.idle_timeout,
            )
            self.timed_out = True
            await self.close()
            return
        except OSError as exc:
            logger.debug("audiosocket %s: read error: %s", self.uuid, exc)
            data = b""
        if not data:
            logger.debug("audiosocket %s: connection closed by Asterisk", self.uuid)
            self._end()
            return
        try:
            self._pending.extend(self._parser.feed(data))
        except AudioSocketError:
            self._end()
            self._closed = True
            raise


StreamHandler = Callable[[AudioStream], Awaitable[None]]


class AudioSocketServer(TcpService):
    """Accept AudioSocket connections and run ``on_stream`` for each."""

    name = "AudioSocket"

    def __init__(
        self,
        host: str,
        port: int,
        on_stream: StreamHandler,
        *,
        uuid_timeout: float = 5.0,
        idle_timeout: float = IDLE_TIMEOUT,
        max_payload: int = 16 * 1024,
        allowed_peers: Iterable[str] = LOOPBACK,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        super().__init__(
            host, port, allowed_peers=allowed_peers, max_connections=max_connections
        )
        self.on_stream = on_stream
        self.uuid_timeout = uuid_timeout
        self.idle_timeout = idle_timeout
        self.max_payload = max_payload

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        parser = AudioSocketParser(max_payload=self.max_payload)
        try:
            frames = await asyncio.wait_for(_read_first_frames(reader, parser), self.uuid_timeout)
        except (AudioSocketError, OSError, TimeoutError) as exc:
            logger.warning("AudioSocket connection from %s: no UUID frame: %s", peer, exc)
            writer.close()
            return
        first = frames[0]
        if not isinstance(first, Uuid):
            logger.warning(
                "AudioSocket connection from %s: first frame is %r, not a UUID", peer, first
            )
            writer.close()
            return
        stream = AudioStream(
            first.uuid, reader, writer, parser, frames[1:], idle_timeout=self.idle_timeout
        )
        await self._run(stream)

    async def _run(self, stream: AudioStream) -> None:
        logger.debug("audiosocket %s: stream starts", stream.uuid)
        try:
            await self.on_stream(stream)
        except Exception:
            logger.exception("audiosocket %s: stream handler failed", stream.uuid)
        finally:
            await stream.close()
            logger.debug(
                "audiosocket %s: stream ends (%d frames in, %d out)",
                stream.uuid,
                stream.frames_in,
                stream.frames_out,
            )


async def _read_first_frames(
    reader: asyncio.StreamReader, parser: AudioSocketParser
) -> list[Frame]:
    """Read until at least one whole frame arrived; return all the frames read."""
    while True:
        data = await reader.read(_READ_SIZE)
        if not data:
            raise AudioSocketClosed("connection closed before the UUID frame")
        frames = parser.feed(data)
        if frames:
            return frames
