"""Tier 2: FastAgiServer on a free port, driven by a fake Asterisk written here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from telephony.agi import (
    AgiDeadChannel,
    AgiError,
    AgiHangup,
    AgiInvalidCommand,
    AgiSession,
    AgiTimeout,
    FastAgiServer,
)

WAIT = 5.0
CHANNEL = "PJSIP/100-0000002a"


class FakeAsterisk:
    """The Asterisk side of one FastAGI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def call(cls, port: int, script: str = "hotline?lang=ru") -> FakeAsterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            (
                "agi_network: yes\n"
                f"agi_network_script: {script}\n"
                f"agi_request: agi://127.0.0.1:{port}/{script}\n"
                f"agi_channel: {CHANNEL}\n"
                "agi_uniqueid: 1732370000.42\n"
                "agi_callerid: 79001234567\n"
                "agi_arg_1: alpha\n"
                "\n"
            ).encode()
        )
        return cls(reader, writer)

    async def expect(self, command: str) -> None:
        line = await asyncio.wait_for(self.reader.readline(), WAIT)
        assert line.decode() == command + "\n"

    def send(self, *lines: str) -> None:
        self.writer.write("".join(line + "\n" for line in lines).encode())

    async def exchange(self, command: str, *reply: str) -> None:
        await self.expect(command)
        self.send(*reply)

    async def wait_closed(self) -> None:
        assert await asyncio.wait_for(self.reader.read(), WAIT) == b""
        self.writer.close()


Script = Callable[[AgiSession], Awaitable[Any]]


class Harness:
    def __init__(self) -> None:
        self.handlers: dict[str, Callable[[AgiSession], Awaitable[None]]] = {}
        self.server = FastAgiServer("127.0.0.1", 0, self.handlers)
        self.outcome: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def script(self, body: Script) -> None:
        """Register ``body`` as the ``hotline`` script; its result or error lands in ``outcome``."""

        async def handler(session: AgiSession) -> None:
            try:
                result = await body(session)
            except BaseException as exc:
                self.outcome.set_exception(exc)
                raise
            self.outcome.set_result(result)

        self.handlers["hotline"] = handler

    async def result(self) -> Any:
        return await asyncio.wait_for(self.outcome, WAIT)


@pytest.fixture
async def agi() -> AsyncIterator[Harness]:
    harness = Harness()
    await harness.server.start()
    yield harness
    await harness.server.stop()


async def test_environment_reaches_the_handler(agi: Harness) -> None:
    async def body(session: AgiSession) -> tuple[str, str, dict[str, str], list[str]]:
        return session.env.script, session.env.channel, session.env.params, session.env.args

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    assert await agi.result() == ("hotline", CHANNEL, {"lang": "ru"}, ["alpha"])
    await asterisk.wait_closed()


async def test_stream_file_returns_pressed_digit(agi: Harness) -> None:
    async def body(session: AgiSession) -> list[str | None]:
        await session.answer()
        return [
            await session.stream_file("custom/menu", "123"),
            await session.stream_file("custom/thanks"),
            await session.wait_for_digit(3000),
            await session.wait_for_digit(3000),
        ]

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asterisk.exchange("ANSWER", "200 result=0")
    await asterisk.exchange("STREAM FILE custom/menu 123", "200 result=50 endpos=12345")
    await asterisk.exchange('STREAM FILE custom/thanks ""', "200 result=0 endpos=8000")
    await asterisk.exchange("WAIT FOR DIGIT 3000", "200 result=35")
    await asterisk.exchange("WAIT FOR DIGIT 3000", "200 result=0")
    assert await agi.result() == ["2", None, "#", None]
    await asterisk.wait_closed()


async def test_get_data_timeouts_and_digits(agi: Harness) -> None:
    async def body(session: AgiSession) -> list[str]:
        return [
            await session.get_data("custom/enter-account", 5000, 10),
            await session.get_data("custom/enter-account", 5000, 10),
            await session.get_data("custom/enter-account", 5000, 4),
        ]

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asterisk.exchange("GET DATA custom/enter-account 5000 10", "200 result= (timeout)")
    await asterisk.exchange("GET DATA custom/enter-account 5000 10", "200 result=12 (timeout)")
    await asterisk.exchange("GET DATA custom/enter-account 5000 4", "200 result=1234")
    assert await agi.result() == ["", "12", "1234"]
    await asterisk.wait_closed()


async def test_get_data_minus_one_is_a_hangup(agi: Harness) -> None:
    agi.script(lambda session: session.get_data("beep", 1000, 1))
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asterisk.exchange("GET DATA beep 1000 1", "200 result=-1")
    with pytest.raises(AgiHangup):
        await agi.result()
    await asterisk.wait_closed()


async def test_variables_and_exec(agi: Harness) -> None:
    async def body(session: AgiSession) -> list[object]:
        await session.set_variable("CALLER NAME", "Иван Петров")
        value = await session.get_variable("CALLER NAME")
        missing = await session.get_variable("NOPE")
        played = await session.exec("Playback", "custom/hello", "skip")
        await session.verbose("done")
        try:
            await session.exec("NoSuchApp")
        except AgiError as exc:
            return [value, missing, played.result, str(exc)]
        return []

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asterisk.exchange('SET VARIABLE "CALLER NAME" "Иван Петров"', "200 result=1")
    await asterisk.exchange('GET VARIABLE "CALLER NAME"', "200 result=1 (Иван Петров)")
    await asterisk.exchange("GET VARIABLE NOPE", "200 result=0")
    await asterisk.exchange("EXEC Playback custom/hello,skip", "200 result=0")
    await asterisk.exchange("VERBOSE done 1", "200 result=1")
    await asterisk.exchange("EXEC NoSuchApp", "200 result=-2")
    value, missing, played, error = await agi.result()
    assert (value, missing, played) == ("Иван Петров", None, "0")
    assert "NoSuchApp" in error
    await asterisk.wait_closed()


async def test_dead_channel_and_invalid_command_raise(agi: Harness) -> None:
    async def body(session: AgiSession) -> list[str]:
        errors = []
        for call in (lambda: session.answer(), lambda: session.command("FOO BAR")):
            try:
                await call()
            except AgiError as exc:
                errors.append(type(exc).__name__)
        return errors

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asterisk.exchange(
        "ANSWER", "511 Command Not Permitted on a dead channel or intercept routine"
    )
    await asterisk.exchange("FOO BAR", "510 Invalid or unknown command")
    assert await agi.result() == [AgiDeadChannel.__name__, AgiInvalidCommand.__name__]
    await asterisk.wait_closed()


async def test_hangup_line_during_playback(agi: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="telephony.agi")
    steps: list[str] = []

    async def body(session: AgiSession) -> None:
        try:
            await session.stream_file("custom/long-menu", "12")
        except AgiHangup:
            steps.append("playback interrupted")
        assert session.hung_up
        try:
            await session.get_variable("RESULT")
        except AgiHangup:
            steps.append("refused locally")
        steps.append(str(await session.command("GET VARIABLE", "RESULT", after_hangup=True)))
        await session.command("STREAM FILE", "x", "", after_hangup=True)

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asterisk.exchange(
        "STREAM FILE custom/long-menu 12", "HANGUP", "200 result=-1 endpos=2000"
    )
    await asterisk.exchange("GET VARIABLE RESULT", "200 result=1 (paid)")
    await asterisk.exchange(
        'STREAM FILE x ""', "511 Command Not Permitted on a dead channel or intercept routine"
    )
    with pytest.raises(AgiHangup):
        await agi.result()
    await asterisk.wait_closed()
    assert steps == [
        "playback interrupted",
        "refused locally",
        "AgiResponse(code=200, result='1', data='paid', endpos=None, fields=())",
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_hangup_between_commands(agi: Harness) -> None:
    release = asyncio.Event()

    async def body(session: AgiSession) -> None:
        await session.wait_hangup()
        release.set()
        await session.answer()

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    asterisk.send("HANGUP")
    await asyncio.wait_for(release.wait(), WAIT)
    with pytest.raises(AgiHangup):
        await agi.result()
    await asterisk.wait_closed()


async def test_connection_closed_while_waiting(agi: Harness) -> None:
    agi.script(lambda session: session.stream_file("custom/menu", "1"))
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asterisk.expect("STREAM FILE custom/menu 1")
    asterisk.writer.close()
    with pytest.raises(AgiHangup):
        await agi.result()


async def test_commands_are_serialised(agi: Harness) -> None:
    async def body(session: AgiSession) -> list[str | None]:
        return list(await asyncio.gather(session.get_variable("A"), session.get_variable("B")))

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asterisk.expect("GET VARIABLE A")
    second = asyncio.create_task(asterisk.reader.readline())
    done, _ = await asyncio.wait({second}, timeout=0.05)
    assert not done, "the second command must wait for the first reply"
    asterisk.send("200 result=1 (a)")
    assert await asyncio.wait_for(second, WAIT) == b"GET VARIABLE B\n"
    asterisk.send("200 result=1 (b)")
    assert await agi.result() == ["a", "b"]
    await asterisk.wait_closed()


async def test_unknown_script(agi: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="telephony.agi")
    asterisk = await FakeAsterisk.call(agi.server.port, script="nope?x=1")
    await asterisk.exchange("VERBOSE \"FastAGI: unknown script 'nope'\" 1", "200 result=1")
    await asterisk.wait_closed()
    assert "unknown FastAGI script 'nope'" in caplog.text


async def test_handler_error_is_logged_with_channel(
    agi: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(session: AgiSession) -> None:
        raise RuntimeError("bug in the IVR")

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asterisk.wait_closed()
    with pytest.raises(RuntimeError):
        await agi.result()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and CHANNEL in errors[0].getMessage() and errors[0].exc_info


async def test_garbage_instead_of_environment(agi: Harness) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", agi.server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert await asyncio.wait_for(reader.read(), WAIT) == b""
    writer.close()


async def test_stop_ends_running_sessions(agi: Harness) -> None:
    started = asyncio.Event()

    async def body(session: AgiSession) -> None:
        started.set()
        await session.wait_hangup()

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asyncio.wait_for(started.wait(), WAIT)
    await agi.server.stop()
    await asterisk.wait_closed()
    with pytest.raises(asyncio.CancelledError):
        await agi.result()


async def test_gosub_waits_past_the_provisional_trying(agi: Harness) -> None:
    """GOSUB answers `100 result=0 Trying...` first; the next command must get its own reply."""

    async def body(session: AgiSession) -> list[object]:
        done = await session.gosub("sub-test", "s", 1, "a", "b")
        value = await session.get_variable("X")
        return [done, value]

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asterisk.expect("GOSUB sub-test s 1 a,b")
    asterisk.send("100 result=0 Trying...")
    await asyncio.sleep(0)  # the final reply comes later, as when the subroutine runs
    asterisk.send("200 result=0 Gosub complete")
    await asterisk.exchange("GET VARIABLE X", "200 result=1 (from the subroutine)")
    assert await agi.result() == ["0", "from the subroutine"]
    await asterisk.wait_closed()


async def test_gosub_label_not_found_raises(agi: Harness) -> None:
    agi.script(lambda session: session.gosub("nowhere", "s", 1))
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asterisk.exchange("GOSUB nowhere s 1", "200 result=-1 Gosub label not found")
    with pytest.raises(AgiError, match="Gosub label not found"):
        await agi.result()
    await asterisk.wait_closed()


async def test_a_command_without_reply_times_out_and_closes(agi: Harness) -> None:
    agi.server.command_timeout = 0.2

    async def body(session: AgiSession) -> None:
        await session.get_variable("X")

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asterisk.expect("GET VARIABLE X")
    with pytest.raises(AgiTimeout, match="GET VARIABLE within 0.2 s"):
        await agi.result()
    await asterisk.wait_closed()


async def test_media_commands_get_the_long_timeout(agi: Harness) -> None:
    agi.server.command_timeout = 0.05
    agi.server.media_timeout = WAIT

    async def body(session: AgiSession) -> object:
        return (await session.exec("Queue", "operators")).result

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    await asterisk.expect("EXEC Queue operators")
    await asyncio.sleep(0.2)  # longer than command_timeout: the queue takes its time
    asterisk.send("200 result=0")
    assert await agi.result() == "0"
    await asterisk.wait_closed()


async def test_a_flood_of_unsolicited_replies_drops_the_connection(agi: Harness) -> None:
    async def body(session: AgiSession) -> None:
        await session.wait_hangup()

    agi.script(body)
    asterisk = await FakeAsterisk.call(agi.server.port)
    asterisk.send(*["200 result=0"] * 100)
    await asterisk.wait_closed()
    assert await agi.result() is None
