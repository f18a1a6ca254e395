"""asyncio edge of the FastAGI package: a TCP server and one session per call.

Asterisk connects (``AGI(agi://host:4573/<script>?k=v)``), sends its environment and
then waits for commands. The server picks the handler registered for ``<script>``
and gives it an :class:`AgiSession`; when the handler returns the connection is
closed and the dialplan continues.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping

from telephony.agi.errors import AgiError, AgiHangup, AgiProtocolError, AgiTimeout
from telephony.agi.protocol import (
    AgiEnvironment,
    AgiEvent,
    AgiParser,
    AgiResponse,
    HangupSignal,
    check_response,
    encode_command,
)

__all__ = ["AgiHandler", "AgiSession", "FastAgiServer"]

from telephony.server import DEFAULT_MAX_CONNECTIONS, LOOPBACK, TcpService

logger = logging.getLogger("telephony.agi")

AgiHandler = Callable[["AgiSession"], Awaitable[None]]

_READ_SIZE = 64 * 1024
DTMF_DIGITS = frozenset("0123456789*#ABCD")
# Commands that play media, wait for the caller or run a dialplan application: they may
# take as long as a call (EXEC Queue returns when the conversation ends).
MEDIA_VERBS = frozenset(
    {
        "EXEC",
        "GOSUB",
        "STREAM FILE",
        "CONTROL STREAM FILE",
        "GET DATA",
        "GET OPTION",
        "WAIT FOR DIGIT",
        "RECORD FILE",
        "RECEIVE CHAR",
        "RECEIVE TEXT",
        "SPEECH RECOGNIZE",
        "SAY ALPHA",
        "SAY DATE",
        "SAY DATETIME",
        "SAY DIGITS",
        "SAY NUMBER",
        "SAY PHONETIC",
        "SAY TIME",
    }
)
COMMAND_TIMEOUT = 30.0  # any other command is answered at once
MEDIA_TIMEOUT = 4 * 3600.0
MAX_QUEUED_REPLIES = 16  # replies nobody asked for, before the connection is dropped


class AgiSession:
    """One AGI conversation. Commands are serialised; each gets exactly one reply.

    After Asterisk's ``HANGUP`` line, :meth:`command` raises :class:`AgiHangup`
    without sending anything, unless ``after_hangup=True`` is passed (Asterisk still
    runs the commands allowed on a dead channel, such as ``GET VARIABLE``, and
    answers the others with 511, which then also raises :class:`AgiHangup`).

    Provisional ``1xx`` replies (GOSUB's ``100 result=0 Trying...``) are skipped: the
    command returns the final reply after them. A command with no final reply within
    its timeout (``command_timeout``, or ``media_timeout`` for :data:`MEDIA_VERBS`)
    raises :class:`AgiTimeout` and closes the connection.
    """

    def __init__(
        self,
        env: AgiEnvironment,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        parser: AgiParser,
        pending: list[AgiEvent] | None = None,
        *,
        command_timeout: float = COMMAND_TIMEOUT,
        media_timeout: float = MEDIA_TIMEOUT,
        max_queued_replies: int = MAX_QUEUED_REPLIES,
    ) -> None:
        self.env = env
        self.command_timeout = command_timeout
        self.media_timeout = media_timeout
        self.max_queued_replies = max_queued_replies
        self._reader = reader
        self._writer = writer
        self._parser = parser
        self._lock = asyncio.Lock()
        self._replies: deque[AgiResponse] = deque()
        self._wakeup = asyncio.Event()
        self._hangup = asyncio.Event()
        self._eof = False
        self._closed = False
        try:
            for event in pending or ():
                self._take(event)
        except AgiProtocolError as exc:
            logger.error("%s: %s; closing the AGI connection", env.channel, exc)
            self._eof = True
            self._hangup.set()
        self._reader_task = asyncio.create_task(self._read_loop(), name=f"agi-reader-{env.channel}")

    @property
    def hung_up(self) -> bool:
        """True once Asterisk has sent ``HANGUP`` or closed the connection."""
        return self._hangup.is_set()

    async def wait_hangup(self) -> None:
        """Wait until the caller hangs up."""
        await self._hangup.wait()

    async def command(
        self,
        verb: str,
        *arguments: str | int,
        after_hangup: bool = False,
        timeout: float | None = None,
    ) -> AgiResponse:
        """Send one command and return its 200 reply; other codes raise (see errors).

        ``timeout`` (seconds) overrides the session's default for this verb.
        """
        data = encode_command(verb, *arguments)
        if timeout is None:
            timeout = self.media_timeout if verb.upper() in MEDIA_VERBS else self.command_timeout
        async with self._lock:
            if self._eof or self._closed:
                raise AgiHangup(f"{self.env.channel}: AGI connection closed")
            if self.hung_up and not after_hangup:
                raise AgiHangup(f"{self.env.channel}: the caller hung up")
            if self._replies:
                logger.warning(
                    "%s: dropping unsolicited AGI replies %r", self.env.channel, list(self._replies)
                )
                self._replies.clear()
            logger.debug("%s: AGI >> %s", self.env.channel, data.decode().rstrip())
            try:
                self._writer.write(data)
                await self._writer.drain()
            except OSError as exc:
                raise AgiHangup(f"{self.env.channel}: AGI connection lost: {exc}") from exc
            try:
                async with asyncio.timeout(timeout):
                    response = await self._final_reply()
            except TimeoutError:
                self._abort()
                raise AgiTimeout(
                    f"{self.env.channel}: no reply to AGI {verb.upper()} within {timeout:g} s;"
                    " connection closed"
                ) from None
        logger.debug("%s: AGI << %r", self.env.channel, response)
        if response.code == 511 and self.hung_up:
            raise AgiHangup(f"{self.env.channel}: the caller hung up", response)
        return check_response(response)

    async def answer(self) -> None:
        _hangup_on_minus_one(await self.command("ANSWER"), self.env.channel)

    async def hangup(self) -> None:
        await self.command("HANGUP")

    async def stream_file(self, path: str, escape_digits: str = "") -> str | None:
        """Play ``path``; return the escape digit pressed, or None if it played to the end.

        Asterisk answers -1 both when the caller hangs up and when the file is
        missing; both raise :class:`AgiHangup` (the message says so).
        """
        _check_digits(escape_digits)
        response = await self.command("STREAM FILE", path, escape_digits)
        return _digit(response, self.env.channel, f"STREAM FILE {path!r} (hangup or missing file)")

    async def get_data(self, path: str, timeout_ms: int, max_digits: int) -> str:
        """Play ``path`` and collect up to ``max_digits`` digits; ``''`` if none before timeout.

        On timeout after some digits, those digits are returned.
        """
        response = await self.command("GET DATA", path, timeout_ms, max_digits)
        if response.result == "-1":
            raise AgiHangup(f"{self.env.channel}: GET DATA {path!r} returned -1", response)
        if any(c not in DTMF_DIGITS for c in response.result):
            raise AgiProtocolError(
                f"AGI protocol error: GET DATA result is not digits: {response!r}"
            )
        return response.result

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        """Wait for one DTMF digit (-1 = forever); None on timeout."""
        response = await self.command("WAIT FOR DIGIT", timeout_ms)
        return _digit(response, self.env.channel, "WAIT FOR DIGIT")

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, value)

    async def get_variable(self, name: str) -> str | None:
        """The channel variable's value (``''`` if empty), or None if it is not set."""
        response = await self.command("GET VARIABLE", name)
        if response.result != "1":
            return None
        return response.data or ""

    async def exec(self, app: str, *args: str) -> AgiResponse:
        """Run a dialplan application; ``args`` are joined with ``,``.

        Result -2 (no such application) raises :class:`AgiError`; other results,
        including -1, are returned as they are.
        """
        arguments = [",".join(args)] if args else []
        response = await self.command("EXEC", app, *arguments)
        if response.result == "-2":
            raise AgiError(f"{self.env.channel}: no dialplan application {app!r}", response)
        return response

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command("VERBOSE", message, level)

    async def gosub(self, context: str, extension: str, priority: str | int, *args: str) -> str:
        """Run a dialplan subroutine; return its final reply's result (``0`` on success).

        A label that is not found raises :class:`AgiError` (Asterisk answers -1).
        """
        arguments: list[str | int] = [context, extension, priority]
        if args:
            arguments.append(",".join(args))
        response = await self.command("GOSUB", *arguments)
        if response.result == "-1":
            raise AgiError(
                f"{self.env.channel}: GOSUB {context},{extension},{priority}: {response.data}",
                response,
            )
        return response.result

    async def close(self) -> None:
        """Close the connection (idempotent); Asterisk then continues the dialplan."""
        if self._closed:
            return
        self._closed = True
        self._reader_task.cancel()
        await asyncio.gather(self._reader_task, return_exceptions=True)
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    # -- internals -----------------------------------------------------------------

    def _abort(self) -> None:
        """Drop the connection now (after a timeout the reply stream cannot be trusted)."""
        self._eof = True
        self._reader_task.cancel()
        self._writer.close()

    def _take(self, event: AgiEvent) -> None:
        if isinstance(event, HangupSignal):
            logger.debug("%s: AGI HANGUP received", self.env.channel)
            self._hangup.set()
        elif isinstance(event, AgiResponse):
            if len(self._replies) >= self.max_queued_replies:
                raise AgiProtocolError(
                    f"AGI protocol error: more than {self.max_queued_replies} replies"
                    f" nobody asked for; last: {event!r}"
                )
            self._replies.append(event)
            self._wakeup.set()
        else:
            logger.warning("%s: second AGI environment ignored", self.env.channel)

    async def _next_reply(self) -> AgiResponse:
        while not self._replies:
            if self._eof:
                raise AgiHangup(f"{self.env.channel}: Asterisk closed the AGI connection")
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._replies.popleft()

    async def _final_reply(self) -> AgiResponse:
        """The next reply that is not provisional (``100 result=0 Trying...``)."""
        while True:
            response = await self._next_reply()
            if not response.provisional:
                return response
            logger.debug("%s: AGI << provisional %r", self.env.channel, response)

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    break
                for event in self._parser.feed(data):
                    self._take(event)
        except AgiProtocolError as exc:
            logger.error("%s: %s; closing the AGI connection", self.env.channel, exc)
        except OSError as exc:
            logger.debug("%s: AGI connection error: %s", self.env.channel, exc)
        finally:
            self._eof = True
            self._hangup.set()
            self._wakeup.set()


def _hangup_on_minus_one(response: AgiResponse, channel: str) -> None:
    if response.result == "-1":
        raise AgiHangup(f"{channel}: command returned -1", response)


def _check_digits(digits: str) -> None:
    if any(c not in DTMF_DIGITS for c in digits):
        raise ValueError(f"escape digits must be among 0-9 * # A-D: {digits!r}")


def _digit(response: AgiResponse, channel: str, what: str) -> str | None:
    """Decode a result that is the ASCII code of a digit (0 = none, -1 = hangup)."""
    try:
        code = int(response.result)
    except ValueError:
        raise AgiProtocolError(f"AGI protocol error: {what}: bad result {response!r}") from None
    if code == -1:
        raise AgiHangup(f"{channel}: {what} returned -1", response)
    if code == 0:
        return None
    if not 0 < code < 128 or chr(code) not in DTMF_DIGITS:
        raise AgiProtocolError(f"AGI protocol error: {what}: result is not a digit: {response!r}")
    return chr(code)


class FastAgiServer(TcpService):
    """Serve FastAGI requests: ``agi://host:port/<script>`` runs ``handlers[script]``."""

    name = "FastAGI"

    def __init__(
        self,
        host: str,
        port: int,
        handlers: Mapping[str, AgiHandler],
        *,
        env_timeout: float = 10.0,
        command_timeout: float = COMMAND_TIMEOUT,
        media_timeout: float = MEDIA_TIMEOUT,
        allowed_peers: Iterable[str] = LOOPBACK,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        super().__init__(
            host, port, allowed_peers=allowed_peers, max_connections=max_connections
        )
        self.handlers = handlers
        self.env_timeout = env_timeout
        self.command_timeout = command_timeout
        self.media_timeout = media_timeout

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        parser = AgiParser()
        try:
            env, pending = await asyncio.wait_for(
                _read_environment(reader, parser), self.env_timeout
            )
        except (AgiError, OSError, TimeoutError) as exc:
            logger.warning("FastAGI connection from %s: no valid environment: %s", peer, exc)
            writer.close()
            return
        session = AgiSession(
            env,
            reader,
            writer,
            parser,
            pending,
            command_timeout=self.command_timeout,
            media_timeout=self.media_timeout,
        )
        try:
            handler = self.handlers.get(env.script)
            if handler is None:
                logger.warning(
                    "%s: unknown FastAGI script %r (%s)", env.channel, env.script, env.request
                )
                with contextlib.suppress(AgiError):
                    await session.verbose(f"FastAGI: unknown script '{env.script}'", 1)
                return
            logger.debug("%s: FastAGI script %r starts", env.channel, env.script)
            await handler(session)
        except AgiHangup as exc:
            logger.debug("%s: caller hung up during %r: %s", env.channel, env.script, exc)
        except Exception:
            logger.exception("%s: FastAGI script %r failed", env.channel, env.script)
        finally:
            await session.close()


async def _read_environment(
    reader: asyncio.StreamReader, parser: AgiParser
) -> tuple[AgiEnvironment, list[AgiEvent]]:
    """Read until the environment is complete; return it and the events after it."""
    while True:
        data = await reader.read(_READ_SIZE)
        if not data:
            raise AgiHangup("connection closed before the AGI environment was complete")
        events = parser.feed(data)
        if events:
            env = events[0]
            if not isinstance(env, AgiEnvironment):
                raise AgiProtocolError(f"AGI protocol error: expected the environment, got {env!r}")
            return env, events[1:]
