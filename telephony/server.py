"""A TCP listener for the PBX's connections (FastAGI, AudioSocket): listen, know the bound
port, and on stop end every connection still being served. Subclasses handle a connection in
`_on_connection` and register the tasks they serve it with in `_tasks`."""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger("telephony")


class TcpService:
    name = "TCP"

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (useful when created with port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_connection, self.host, self._port)
        logging.getLogger(type(self).__module__).info(
            "%s server listening on %s:%d", self.name, self.host, self.port
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

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
