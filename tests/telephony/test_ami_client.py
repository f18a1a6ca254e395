"""Tier 2: AmiClient against a fake AMI server on a free port."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from telephony.ami import (
    AmiActionError,
    AmiClient,
    AmiDisconnected,
    AmiMessage,
    AmiNotConnected,
    AmiProtocolError,
    AmiTimeout,
)

SECRET = "s3cret-Very-Private"
WAIT = 5.0


class FakeAmi:
    """Just enough of Asterisk's manager to exercise the client."""

    def __init__(self, *, reject_logins: int = 0) -> None:
        self.reject_logins = reject_logins
        self.login_attempts = 0
        self.logins = 0
        self.actions: list[dict[str, list[str]]] = []
        self.answer_pings = True
        self.writers: list[asyncio.StreamWriter] = []
        self.changed = asyncio.Condition()
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        self.drop_all()
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), WAIT)

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def drop_all(self) -> None:
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    def emit(self, *events: str) -> None:
        for writer in self.writers:
            writer.write("".join(events).encode())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        try:
            while True:
                try:
                    block = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                action: dict[str, list[str]] = {}
                for line in block.decode().split("\r\n"):
                    if line:
                        key, _, value = line.partition(": ")
                        action.setdefault(key.lower(), []).append(value)
                self.actions.append(action)
                if not await self._answer(action, writer):
                    writer.close()
                    return
                await writer.drain()
                await self._notify()
        finally:
            if writer in self.writers:
                self.writers.remove(writer)
            writer.close()
            await self._notify()

    async def _answer(self, action: dict[str, list[str]], writer: asyncio.StreamWriter) -> bool:
        name = action["action"][0].lower()
        aid = action["actionid"][0]
        head = f"ActionID: {aid}\r\n"
        if name == "login":
            self.login_attempts += 1
            if self.login_attempts <= self.reject_logins or action["secret"] != [SECRET]:
                writer.write(
                    f"Response: Error\r\n{head}Message: Authentication failed\r\n\r\n".encode()
                )
                await self._notify()
                return False
            self.logins += 1
            writer.write(
                f"Response: Success\r\n{head}Message: Authentication accepted\r\n\r\n"
                "Event: FullyBooted\r\nPrivilege: system,all\r\n"
                "Status: Fully Booted\r\n\r\n".encode()
            )
        elif name == "ping":
            if self.answer_pings:
                writer.write(
                    f"Response: Success\r\n{head}Ping: Pong\r\nTimestamp: 1.0\r\n\r\n".encode()
                )
        elif name == "coreshowchannels":
            writer.write(
                f"Response: Success\r\n{head}EventList: start\r\n"
                "Message: Channels will follow\r\n\r\n"
                f"Event: CoreShowChannel\r\n{head}Channel: PJSIP/100-00000001\r\n\r\n"
                "Event: Newstate\r\nChannel: PJSIP/100-00000001\r\n\r\n"
                f"Event: CoreShowChannel\r\n{head}Channel: PJSIP/200-00000002\r\n\r\n"
                f"Event: CoreShowChannelsComplete\r\n{head}EventList: Complete\r\n"
                "ListItems: 2\r\n\r\n".encode()
            )
        elif name == "logoff":
            writer.write(
                f"Response: Goodbye\r\n{head}Message: Thanks for all the fish.\r\n\r\n".encode()
            )
            return False
        elif name == "hang":
            pass  # never answered
        else:
            writer.write(
                f"Response: Error\r\n{head}Message: Invalid/unknown command\r\n\r\n".encode()
            )
        return True


def test_event(name: str, seq: int) -> str:
    return f"Event: {name}\r\nPrivilege: call,all\r\nSeq: {seq}\r\n\r\n"


test_event.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    await server.start()
    yield server
    await server.stop()


@asynccontextmanager
async def running(client: AmiClient, *, wait: bool = True) -> AsyncIterator[AmiClient]:
    task = asyncio.create_task(client.run())
    try:
        if wait:
            await client.wait_connected(WAIT)
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(task, WAIT)


def make_client(server: FakeAmi, **kwargs: Any) -> AmiClient:
    options: dict[str, Any] = {"backoff_initial": 0.01, "backoff_max": 0.05, "ping_interval": 30.0}
    options.update(kwargs)
    secret = options.pop("secret", SECRET)
    return AmiClient("127.0.0.1", server.port, "hotline", secret, **options)


async def test_login_and_action(ami: FakeAmi) -> None:
    async with running(make_client(ami)) as client:
        assert client.ami_version == "11.0.0"
        response = await client.action("Ping")
        assert response.name == "Success"
        assert response["Ping"] == "Pong"
        assert response.action_id == ami.actions[-1]["actionid"][0]
        login = ami.actions[0]
        assert login["username"] == ["hotline"] and login["events"] == ["on"]
        with pytest.raises(AmiActionError, match="Invalid/unknown command") as info:
            await client.action("NoSuchAction")
        assert info.value.text == "Invalid/unknown command"


async def test_python_field_names_and_repeated_values(ami: FakeAmi) -> None:
    async with running(make_client(ami)) as client:
        with pytest.raises(AmiActionError):
            await client.action(
                "Originate",
                Channel="PJSIP/100",
                Variable=["A=1", "B=2"],
                Async_="true",
                Timeout=3000,
            )
        sent = ami.actions[-1]
        assert sent["channel"] == ["PJSIP/100"]
        assert sent["variable"] == ["A=1", "B=2"]
        assert sent["async"] == ["true"]
        assert sent["timeout"] == ["3000"]
        with pytest.raises(ValueError):
            await client.action("Originate", Channel="PJSIP/1\r\nAction: Command")


async def test_action_list_collects_items_only(ami: FakeAmi) -> None:
    seen: list[AmiMessage] = []
    async with running(make_client(ami)) as client:
        newstate = asyncio.Event()

        def on_newstate(message: AmiMessage) -> None:
            seen.append(message)
            newstate.set()

        client.subscribe(on_newstate, ["Newstate"])
        items = await client.action_list("CoreShowChannels")
        assert [m.name for m in items] == ["CoreShowChannel", "CoreShowChannel"]
        assert [m["Channel"] for m in items] == ["PJSIP/100-00000001", "PJSIP/200-00000002"]
        await asyncio.wait_for(newstate.wait(), WAIT)  # unrelated events still reach subscribers
        assert [m.name for m in seen] == ["Newstate"]
        with pytest.raises(AmiActionError):
            await client.action_list("NoSuchList")


async def test_subscribers_get_events_in_order(ami: FakeAmi) -> None:
    got: list[tuple[str, str]] = []
    done = asyncio.Event()

    def sync_handler(message: AmiMessage) -> None:
        got.append(("sync", message["Seq"]))

    async def async_handler(message: AmiMessage) -> None:
        await asyncio.sleep(0)
        got.append(("async", message["Seq"]))
        if message["Seq"] == "49":
            done.set()

    def broken(message: AmiMessage) -> None:
        raise RuntimeError("handler bug")

    async with running(make_client(ami)) as client:
        client.subscribe(broken)
        client.subscribe(sync_handler, ["Test"])
        client.subscribe(async_handler, names={"test"})
        ami.emit(
            *(test_event("Other", -1) for _ in range(3)),
            *(test_event("Test", i) for i in range(50)),
        )
        await asyncio.wait_for(done.wait(), WAIT)
    expected = [(kind, str(i)) for i in range(50) for kind in ("sync", "async")]
    assert got == expected


async def test_slow_handler_does_not_block_actions(ami: FakeAmi) -> None:
    entered = asyncio.Event()
    release = asyncio.Event()

    async def slow(message: AmiMessage) -> None:
        entered.set()
        await release.wait()

    async with running(make_client(ami)) as client:
        client.subscribe(slow, ["Test"])
        ami.emit(test_event("Test", 1), test_event("Test", 2))
        await asyncio.wait_for(entered.wait(), WAIT)
        response = await client.action("Ping", timeout=2.0)
        assert response["Ping"] == "Pong"
        items = await client.action_list("CoreShowChannels", timeout=2.0)
        assert len(items) == 2
        release.set()


async def test_reconnects_after_server_drops_connection(ami: FakeAmi) -> None:
    connects: list[int] = []
    disconnects: list[int] = []
    once, twice = asyncio.Event(), asyncio.Event()

    async def on_connect(client: AmiClient) -> None:
        connects.append(len(await client.action_list("CoreShowChannels")))
        (once if len(connects) == 1 else twice).set()

    client = make_client(ami, on_connect=on_connect, on_disconnect=lambda c: disconnects.append(1))
    async with running(client):
        await asyncio.wait_for(once.wait(), WAIT)
        ami.drop_all()
        await asyncio.wait_for(twice.wait(), WAIT)
        assert ami.logins == 2
        assert connects == [2, 2]
        assert disconnects == [1]
        assert (await client.action("Ping"))["Ping"] == "Pong"
    assert ami.actions[-1]["action"] == ["Logoff"]


async def test_login_failure_retries_with_backoff(ami: FakeAmi) -> None:
    ami.reject_logins = 2
    async with running(make_client(ami)) as client:
        assert ami.login_attempts == 3
        assert ami.logins == 1
        assert client.logins == 1


async def test_refused_connection_retries(ami: FakeAmi) -> None:
    port = ami.port
    await ami.stop()
    client = AmiClient("127.0.0.1", port, "hotline", SECRET, backoff_initial=0.01, backoff_max=0.02)
    async with running(client, wait=False):
        with pytest.raises(AmiTimeout):
            await client.wait_connected(0.1)
        with pytest.raises(AmiNotConnected):
            await client.action("Ping")


async def test_wrong_secret_is_not_logged(ami: FakeAmi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="telephony.ami")
    wrong = "WrongSecret-do-not-log-42"
    client = make_client(ami, secret=wrong)
    async with running(client, wait=False):
        await ami.wait_until(lambda: ami.login_attempts >= 3)
        assert not client.connected.is_set()
    assert ami.logins == 0
    assert "login refused" in caplog.text
    assert wrong not in caplog.text
    assert SECRET not in caplog.text
    assert wrong not in repr(client)


async def test_action_timeout_and_disconnect_while_waiting(ami: FakeAmi) -> None:
    async with running(make_client(ami)) as client:
        with pytest.raises(AmiTimeout):
            await client.action("Hang", timeout=0.05)
        with pytest.raises(asyncio.TimeoutError):
            await client.action("Hang", timeout=0.05)
        pending = asyncio.create_task(client.action("Hang"))
        await ami.wait_until(
            lambda: ami.actions[-1]["action"] == ["Hang"] and len(ami.actions) == 4
        )
        ami.drop_all()
        with pytest.raises(AmiDisconnected):
            await asyncio.wait_for(pending, WAIT)
        await client.wait_connected(WAIT)


async def test_silent_server_is_detected_by_ping(ami: FakeAmi) -> None:
    async with running(make_client(ami, ping_interval=0.05, ping_timeout=0.1)):
        ami.answer_pings = False
        await ami.wait_until(lambda: ami.logins == 2)
        ami.answer_pings = True


async def test_not_connected_before_run(ami: FakeAmi) -> None:
    client = make_client(ami)
    with pytest.raises(AmiNotConnected):
        await client.action("Ping")
    await client.close()


def test_backoff_grows_with_jitter_up_to_the_maximum() -> None:
    client = AmiClient("127.0.0.1", 1, "u", "s", backoff_initial=0.5, backoff_max=10.0)
    for failures, ceiling in [
        (0, 0.5),
        (1, 0.5),
        (2, 1.0),
        (3, 2.0),
        (5, 8.0),
        (6, 10.0),
        (50, 10.0),
    ]:
        delays = [client._backoff(failures) for _ in range(200)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 1  # jittered


async def test_an_endless_event_list_is_cut_at_the_limit(ami: FakeAmi) -> None:
    async with running(make_client(ami, max_list_items=1)) as client:
        with pytest.raises(AmiProtocolError, match="longer than 1 items"):
            await client.action_list("CoreShowChannels")
        assert (await client.action("Ping"))["Ping"] == "Pong"  # the connection is still usable
