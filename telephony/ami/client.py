"""asyncio edge of the AMI package: moves bytes between a socket and :class:`AmiParser`.

One :class:`AmiClient` keeps one logged-in connection to Asterisk alive forever:
it reconnects with exponential backoff and jitter, pings to detect half-open
sockets, routes responses to the waiting action by ActionID, and hands events to a
dispatcher task so that slow handlers never stall the reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from telephony.ami.errors import (
    AmiActionError,
    AmiDisconnected,
    AmiError,
    AmiNotConnected,
    AmiProtocolError,
    AmiTimeout,
)
from telephony.ami.protocol import AmiMessage, AmiParser, FieldValue, encode_action

__all__ = ["AmiClient", "ConnectCallback", "DisconnectCallback", "EventHandler"]

logger = logging.getLogger("telephony.ami")

EventHandler = Callable[[AmiMessage], Awaitable[None] | None]
ConnectCallback = Callable[["AmiClient"], Awaitable[None]]
DisconnectCallback = Callable[["AmiClient"], Awaitable[None] | None]

_READ_SIZE = 64 * 1024


@dataclass
class _PendingList:
    """An ``action_list`` waiting for its ``EventList: Complete`` event."""

    done: asyncio.Future[list[AmiMessage]]
    items: list[AmiMessage] = field(default_factory=list)


class _Connection:
    """One TCP connection; the actions waiting on it die with it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        self.reader = reader
        self.writer = writer
        self.parser = AmiParser()
        self.greeting: asyncio.Future[str] = loop.create_future()
        self.responses: dict[str, asyncio.Future[AmiMessage]] = {}
        self.lists: dict[str, _PendingList] = {}
        self.logged_in = False
        self.closed = False

    def close(self) -> None:
        """Drop the socket and fail everything that waits on it."""
        if self.closed:
            return
        self.closed = True
        self.writer.transport.abort()
        futures: list[
            asyncio.Future[AmiMessage] | asyncio.Future[str] | asyncio.Future[list[AmiMessage]]
        ] = [self.greeting, *self.responses.values()]
        futures.extend(pending.done for pending in self.lists.values())
        for future in futures:
            if not future.done():
                future.set_exception(AmiDisconnected("the AMI connection was lost"))
                future.exception()  # mark retrieved: nobody may be waiting any more


class AmiClient:
    """A self-healing AMI connection. Start it with ``asyncio.create_task(client.run())``."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        events: str = "on",
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        connect_timeout: float = 5.0,
        ping_interval: float = 5.0,
        ping_timeout: float = 5.0,
        on_connect: ConnectCallback | None = None,
        on_disconnect: DisconnectCallback | None = None,
        name: str = "ami",
        max_queued_events: int = 100_000,
        max_list_items: int = 100_000,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.__secret = secret
        self.events = events
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.connect_timeout = connect_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.name = name
        self.max_queued_events = max_queued_events
        self.max_list_items = max_list_items
        self.connected = asyncio.Event()
        self.ami_version: str | None = None
        self.logins = 0
        self.dropped_events = 0
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._conn: _Connection | None = None
        self._closing = False
        self._wake = asyncio.Event()
        self._queue: asyncio.Queue[AmiMessage] = asyncio.Queue()
        self._subscribers: list[tuple[EventHandler, frozenset[str] | None]] = []
        self._ids = itertools.count(1)
        self._id_prefix = f"{name}-{secrets.token_hex(4)}"
        self._run_task: asyncio.Task[None] | None = None
        self._internal_tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        state = "connected" if self.connected.is_set() else "disconnected"
        return f"<AmiClient {self.name} {self.username}@{self.host}:{self.port} {state}>"

    # -- public API ----------------------------------------------------------------

    async def run(self) -> None:
        """Connect, log in and serve; reconnect after any failure until :meth:`close`."""
        if self._run_task is not None:
            raise RuntimeError(f"{self!r}: run() is already running")
        self._run_task = asyncio.current_task()
        dispatcher = self._spawn(self._dispatch_loop(), "dispatch")
        failures = 0
        try:
            while not self._closing:
                try:
                    logged_in = await self._session()
                except Exception:
                    logger.exception("%s: unexpected error in the AMI session", self.name)
                    logged_in = False
                if self._closing:
                    break
                failures = 0 if logged_in else failures + 1
                delay = self._backoff(failures)
                logger.info("%s: reconnecting in %.2f s", self.name, delay)
                await self._sleep(delay)
        finally:
            dispatcher.cancel()
            await asyncio.gather(dispatcher, return_exceptions=True)
            self._run_task = None

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the client is logged in; :class:`AmiTimeout` after ``timeout``."""
        try:
            await asyncio.wait_for(self.connected.wait(), timeout)
        except TimeoutError:
            raise AmiTimeout(f"{self.name}: not connected to AMI within {timeout} s") from None

    async def action(self, name: str, *, timeout: float = 10.0, **fields: FieldValue) -> AmiMessage:
        """Send an action and return its response.

        Field names are AMI header names (``Channel='PJSIP/100'``, a list value repeats
        the header); a trailing underscore is dropped for Python keywords. Note that
        ``timeout`` is this method's own parameter while ``Timeout`` is an AMI field.
        """
        conn = self._live_connection()
        response, _ = await self._call(conn, name, _ami_fields(fields), timeout, collect=False)
        if response.name.lower() == "error":
            raise AmiActionError(response)
        return response

    async def action_list(
        self, name: str, *, timeout: float = 10.0, **fields: FieldValue
    ) -> list[AmiMessage]:
        """Send an action answered by an event list; return the item events.

        The closing ``...Complete`` event is not included. A response without
        ``EventList: start`` means that no list follows: the result is empty.
        """
        conn = self._live_connection()
        _, items = await self._call(conn, name, _ami_fields(fields), timeout, collect=True)
        return items

    def subscribe(
        self, handler: EventHandler, names: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Call ``handler`` for events named in ``names`` (all if None); returns an unsubscriber."""
        if isinstance(names, str):
            names = [names]
        entry = (handler, None if names is None else frozenset(n.lower() for n in names))
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    async def close(self) -> None:
        """Log off (best effort), drop the connection and stop :meth:`run`."""
        self._closing = True
        self._wake.set()
        conn = self._conn
        if conn is not None and conn.logged_in and not conn.closed:
            with contextlib.suppress(AmiError, OSError):
                await self._call(conn, "Logoff", {}, 1.0, collect=False)
        if conn is not None:
            conn.close()
        task = self._run_task
        current = asyncio.current_task()
        if task is not None and task is not current and current not in self._internal_tasks:
            await asyncio.wait({task}, timeout=5.0)

    # -- one connection ------------------------------------------------------------

    async def _session(self) -> bool:
        """Connect, log in and serve until the connection ends; True if logged in."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout
            )
        except (OSError, TimeoutError) as exc:
            logger.warning(
                "%s: cannot connect to %s:%s: %s",
                self.name,
                self.host,
                self.port,
                exc or type(exc).__name__,
            )
            return False
        conn = _Connection(reader, writer)
        self._conn = conn
        reader_task = self._spawn(self._read_loop(conn), "reader")
        helpers: list[asyncio.Task[None]] = []
        try:
            if not await self._login(conn):
                return False
            conn.logged_in = True
            self.logins += 1
            self.connected.set()
            logger.info(
                "%s: logged in to %s:%s as %s (AMI %s)",
                self.name,
                self.host,
                self.port,
                self.username,
                self.ami_version,
            )
            helpers.append(self._spawn(self._ping_loop(conn), "ping"))
            if self._on_connect is not None:
                helpers.append(self._spawn(self._call_on_connect(), "on-connect"))
            await asyncio.wait({reader_task, helpers[0]}, return_when=asyncio.FIRST_COMPLETED)
            return True
        finally:
            self.connected.clear()
            conn.close()
            for task in (reader_task, *helpers):
                task.cancel()
            await asyncio.gather(reader_task, *helpers, return_exceptions=True)
            self._conn = None
            if conn.logged_in and not self._closing:
                logger.warning("%s: AMI connection to %s:%s lost", self.name, self.host, self.port)
                await self._call_on_disconnect()

    async def _login(self, conn: _Connection) -> bool:
        try:
            await asyncio.wait_for(conn.greeting, self.connect_timeout)
            fields = {"Username": self.username, "Secret": self.__secret, "Events": self.events}
            response, _ = await self._call(
                conn, "Login", fields, self.connect_timeout, collect=False
            )
        except (AmiError, TimeoutError) as exc:
            logger.warning(
                "%s: AMI login handshake failed: %s", self.name, exc or type(exc).__name__
            )
            return False
        if response.name.lower() != "success":
            logger.error(
                "%s: AMI login refused for user %r: %s",
                self.name,
                self.username,
                response.get("Message", response.name),
            )
            return False
        return True

    async def _read_loop(self, conn: _Connection) -> None:
        try:
            while True:
                data = await conn.reader.read(_READ_SIZE)
                if not data:
                    logger.info("%s: Asterisk closed the AMI connection", self.name)
                    return
                messages = conn.parser.feed(data)
                if conn.parser.greeting is not None and not conn.greeting.done():
                    self.ami_version = conn.parser.version
                    conn.greeting.set_result(conn.parser.greeting)
                for message in messages:
                    self._route(conn, message)
        except AmiProtocolError as exc:
            logger.error("%s: %s; dropping the connection", self.name, exc)
        except OSError as exc:
            logger.warning("%s: AMI connection error: %s", self.name, exc)
        finally:
            conn.close()

    def _route(self, conn: _Connection, message: AmiMessage) -> None:
        action_id = message.action_id
        if message.kind == "response":
            future = conn.responses.get(action_id) if action_id is not None else None
            if future is not None and not future.done():
                future.set_result(message)
            else:
                logger.debug(
                    "%s: unexpected response %r (ActionID %r)", self.name, message.name, action_id
                )
            return
        pending = conn.lists.get(action_id) if action_id is not None else None
        if pending is not None:
            if pending.done.done():
                return
            if (message.get("EventList") or "").lower() == "complete":
                pending.done.set_result(pending.items)
            elif len(pending.items) >= self.max_list_items:
                pending.done.set_exception(
                    AmiProtocolError(
                        f"AMI protocol error: event list of ActionID {action_id!r} longer than"
                        f" {self.max_list_items} items"
                    )
                )
            else:
                pending.items.append(message)
            return
        if self._queue.qsize() >= self.max_queued_events:
            self.dropped_events += 1
            if self.dropped_events % 1000 == 1:
                logger.error(
                    "%s: event queue full (%d); dropped %d events so far",
                    self.name,
                    self.max_queued_events,
                    self.dropped_events,
                )
            return
        self._queue.put_nowait(message)

    async def _call(
        self,
        conn: _Connection,
        name: str,
        fields: Mapping[str, FieldValue],
        timeout: float,
        *,
        collect: bool,
    ) -> tuple[AmiMessage, list[AmiMessage]]:
        """Send one action on ``conn``; wait for its response (and its list)."""
        action_id = f"{self._id_prefix}-{next(self._ids)}"
        data = encode_action(name, action_id, fields)
        if conn.closed:
            raise AmiDisconnected(f"{self.name}: the AMI connection was lost")
        loop = asyncio.get_running_loop()
        response: asyncio.Future[AmiMessage] = loop.create_future()
        conn.responses[action_id] = response
        if collect:
            conn.lists[action_id] = _PendingList(done=loop.create_future())
        try:
            async with asyncio.timeout(timeout):
                conn.writer.write(data)
                await conn.writer.drain()
                message = await response
                if not collect:
                    return message, []
                if message.name.lower() == "error":
                    raise AmiActionError(message)
                if (message.get("EventList") or "").lower() != "start":
                    return message, []
                return message, await conn.lists[action_id].done
        except TimeoutError:
            raise AmiTimeout(f"{self.name}: no answer to {name} within {timeout} s") from None
        except OSError as exc:
            conn.close()
            raise AmiDisconnected(f"{self.name}: the AMI connection was lost: {exc}") from exc
        finally:
            conn.responses.pop(action_id, None)
            pending = conn.lists.pop(action_id, None)
            if pending is not None and not pending.done.done():
                pending.done.cancel()

    async def _ping_loop(self, conn: _Connection) -> None:
        while not conn.closed:
            await asyncio.sleep(self.ping_interval)
            try:
                await self._call(conn, "Ping", {}, self.ping_timeout, collect=False)
            except AmiTimeout:
                logger.warning(
                    "%s: no Ping reply within %.1f s; dropping the connection",
                    self.name,
                    self.ping_timeout,
                )
                conn.close()
                return
            except AmiDisconnected:
                return

    # -- callbacks and events ------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        while True:
            message = await self._queue.get()
            for handler, names in list(self._subscribers):
                if names is not None and message.name.lower() not in names:
                    continue
                try:
                    result = handler(message)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    logger.exception(
                        "%s: event handler %r failed on %s", self.name, handler, message.name
                    )

    async def _call_on_connect(self) -> None:
        assert self._on_connect is not None
        try:
            await self._on_connect(self)
        except AmiError as exc:
            logger.warning("%s: on_connect callback failed: %s", self.name, exc)
        except Exception:
            logger.exception("%s: on_connect callback failed", self.name)

    async def _call_on_disconnect(self) -> None:
        if self._on_disconnect is None:
            return
        try:
            result = self._on_disconnect(self)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("%s: on_disconnect callback failed", self.name)

    # -- helpers -------------------------------------------------------------------

    def _live_connection(self) -> _Connection:
        conn = self._conn
        if conn is None or conn.closed or not conn.logged_in:
            raise AmiNotConnected(f"{self.name}: not connected to AMI")
        return conn

    def _spawn(self, coro: Coroutine[Any, Any, None], role: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=f"{self.name}-{role}")
        self._internal_tasks.add(task)
        task.add_done_callback(self._internal_tasks.discard)
        return task

    def _backoff(self, failures: int) -> float:
        """Exponential backoff with jitter: a random delay in [d/2, d]."""
        ceiling = min(self.backoff_max, self.backoff_initial * 2 ** max(failures - 1, 0))
        return random.uniform(ceiling / 2, ceiling)

    async def _sleep(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or less if :meth:`close` is called."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)


def _ami_fields(fields: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    """Python keyword names to AMI header names: drop one trailing underscore."""
    return {key[:-1] if key.endswith("_") else key: value for key, value in fields.items()}
