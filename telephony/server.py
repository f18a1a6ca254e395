"""A TCP listener for the PBX's connections (FastAGI, AudioSocket): listen, know the bound
port, accept only the PBX, cap the connections served at once, and on stop end every
connection still being served. Subclasses serve one connection in `_on_connection`; it runs
in the connection's own task, which this class tracks (and cancels on stop).

Rules this listener keeps:

* Only peers whose address is in ``allowed_peers`` are served (names are resolved once, at
  start; ``::ffff:a.b.c.d`` counts as ``a.b.c.d``). Default: loopback only. Others are
  closed at once, unread, and logged.
* At most ``max_connections`` connections are served at once; one more is closed at once,
  unread, and logged. The PBX then takes its failure path (FastAGI: ``AGISTATUS=FAILURE``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Iterable

logger = logging.getLogger("telephony")

LOOPBACK = ("127.0.0.1", "::1")
DEFAULT_MAX_CONNECTIONS = 500


def _normalise(address: str) -> str:
    """``::ffff:127.0.0.1`` → ``127.0.0.1``; a zone (``fe80::1%eth0``) is dropped."""
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def resolve_peers(peers: Iterable[str]) -> frozenset[str]:
    """Addresses (and host names, resolved now) → the set of addresses to accept."""
    resolved: set[str] = set()
    for peer in peers:
        peer = peer.strip()
        if not peer:
            continue
        try:
            ipaddress.ip_address(peer.partition("%")[0])
        except ValueError:
            try:
                infos = socket.getaddrinfo(peer, None, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise ValueError(f"cannot resolve allowed peer {peer!r}: {exc}") from exc
            resolved.update(_normalise(str(info[4][0])) for info in infos)
        else:
            resolved.add(_normalise(peer))
    return frozenset(resolved)


class TcpService:
    name = "TCP"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        allowed_peers: Iterable[str] = LOOPBACK,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections}")
        self.host = host
        self._port = port
        self.allowed_peers = tuple(allowed_peers)
        self.max_connections = max_connections
        self.refused = 0  # connections closed unserved (unknown peer or over the cap)
        self._allowed: frozenset[str] = frozenset()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (useful when created with port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def active(self) -> int:
        """Connections being served now."""
        return len(self._tasks)

    async def start(self) -> None:
        self._allowed = resolve_peers(self.allowed_peers)
        if not self._allowed:
            raise ValueError(f"{self.name}: no allowed peer address: {self.allowed_peers!r}")
        self._server = await asyncio.start_server(self._accept, self.host, self._port)
        logging.getLogger(type(self).__module__).info(
            "%s server listening on %s:%d (peers %s, at most %d connections)",
            self.name,
            self.host,
            self.port,
            ", ".join(sorted(self._allowed)),
            self.max_connections,
        )

    async def stop(self) -> None:
        """Stop listening and cancel the connections still being served."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _refuse(self, writer: asyncio.StreamWriter, why: str, peer: object) -> None:
        self.refused += 1
        logger.warning("%s: connection from %s refused: %s", self.name, peer, why)
        writer.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = _normalise(str(peer[0])) if isinstance(peer, tuple) and peer else str(peer)
        if address not in self._allowed:
            self._refuse(writer, "not an allowed peer", peer)
            return
        if len(self._tasks) >= self.max_connections:
            self._refuse(writer, f"{self.max_connections} connections already served", peer)
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._on_connection(reader, writer)
        except asyncio.CancelledError:
            # stop(): the connection ends here. The task is the listener's own (nobody else
            # awaits it), and asyncio would log a cancelled client task as an error.
            pass
        finally:
            self._tasks.discard(task)
            if not writer.is_closing():
                writer.close()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        raise NotImplementedError
