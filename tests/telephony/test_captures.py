"""The parsers on replies recorded from the project's own Asterisk 22 (tests/telephony/captures/,
written by record_captures.py): every AGI command the flows use, GOSUB, SPEECH, the error
replies, and an AMI session (login, an event burst, CoreShowChannels, CoreStatus, an error,
the Command action refused)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from record_captures import AGI_COMMANDS, AMI_FILE, Command, read_transcript

from telephony.agi import (
    AgiDeadChannel,
    AgiEnvironment,
    AgiError,
    AgiHangup,
    AgiInvalidCommand,
    AgiParser,
    AgiResponse,
    AgiSession,
    AgiUsageError,
    FastAgiServer,
    HangupSignal,
    encode_command,
    speech_results,
)
from telephony.ami import AmiMessage, AmiParser

WAIT = 10.0
ENVIRONMENT, EXCHANGES = read_transcript()
COMMANDS = {command.name: command for command in AGI_COMMANDS}

# What each recorded reply means: (code, result, data, keys of the key=value pairs).
EXPECTED: dict[str, tuple[int, str, str | None, tuple[str, ...]]] = {
    "answer": (200, "0", None, ()),
    "set_variable": (200, "1", None, ()),
    "get_variable_set": (200, "1", "Иван (тест) = 1", ()),
    "get_variable_dialplan": (200, "1", "две (2) части = ok", ()),
    "get_variable_unset": (200, "0", None, ()),
    "get_variable_function": (200, "1", "0", ()),
    "verbose": (200, "1", None, ()),
    "stream_file_to_end": (200, "0", None, ("endpos",)),
    "stream_file_key": (200, str(ord("5")), None, ("endpos",)),
    "stream_file_long_key": (200, str(ord("7")), None, ("endpos",)),
    "stream_file_missing": (200, "-1", None, ("endpos",)),
    "get_data_timeout": (200, "", "timeout", ()),
    "get_data_keys": (200, "12", None, ()),
    "wait_for_digit_timeout": (200, "0", None, ()),
    "wait_for_digit_key": (200, str(ord("#")), None, ()),
    "exec_playback": (200, "0", None, ()),
    "exec_read": (200, "0", None, ()),
    "get_variable_read": (200, "1", "42", ()),
    "exec_queue": (200, "0", None, ()),
    "get_variable_queuestatus": (200, "1", "TIMEOUT", ()),
    "exec_audiosocket_refused": (200, "-1", None, ()),
    "exec_missing_app": (200, "-2", None, ()),
    "gosub": (200, "0", "Gosub complete", ()),
    "get_variable_gosub": (200, "1", "из подпрограммы", ()),
    "gosub_missing": (200, "-1", "Gosub label not found", ()),
    "speech_create": (200, "0", None, ()),  # no speech engine is loaded: creation fails
    "speech_recognize": (200, "0", None, ()),
    "speech_destroy": (200, "0", None, ()),
    "invalid_command": (510, "", "Invalid or unknown command", ()),
    "usage": (520, "", None, ()),
    "hangup": (200, "1", None, ()),
    "get_variable_after_hangup": (200, "1", "Иван (тест) = 1", ()),
    "stream_file_after_hangup": (
        511, "", "Command Not Permitted on a dead channel or intercept routine", ()
    ),
}


def test_every_command_of_the_table_was_recorded_in_order() -> None:
    assert [command for command, _ in EXCHANGES] == [
        encode_command(c.verb, *c.args).rstrip(b"\n") for c in AGI_COMMANDS
    ]
    assert set(EXPECTED) == set(COMMANDS)


def test_environment_of_a_real_asterisk_22() -> None:
    (env,) = AgiParser().feed(ENVIRONMENT)
    assert isinstance(env, AgiEnvironment)
    assert env.version.startswith("22.")
    assert env.script == "capture" and env.params == {"test": "1"}
    assert env.args == ["first arg", ""]
    assert env.channel.startswith("Local/") and env.channel.endswith(";2")


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1 << 20])
def test_every_recorded_reply_parses(size: int) -> None:
    parser = AgiParser()
    data = ENVIRONMENT + b"".join(reply for _, reply in EXCHANGES)
    events = [e for i in range(0, len(data), size) for e in parser.feed(data[i : i + size])]
    assert isinstance(events[0], AgiEnvironment)
    replies = [e for e in events[1:] if isinstance(e, AgiResponse) and not e.provisional]
    assert sum(isinstance(e, HangupSignal) for e in events) == 1
    assert [e for e in events if isinstance(e, AgiResponse) and e.provisional] == [
        AgiResponse(100, "0", "Trying...")
    ]
    assert len(replies) == len(AGI_COMMANDS)
    for command, reply in zip(AGI_COMMANDS, replies, strict=True):
        code, result, data_, keys = EXPECTED[command.name]
        assert (reply.code, reply.result, tuple(k for k, _ in reply.fields)) == (
            code, result, keys
        ), command.name
        if command.name != "usage":
            assert reply.data == data_, command.name
        if "endpos" in keys:
            assert isinstance(reply.endpos, int) and reply.endpos >= 0, command.name
    usage = replies[[c.name for c in AGI_COMMANDS].index("usage")]
    assert usage.data is not None
    assert usage.data.startswith("Invalid command syntax.  Proper usage follows:")
    assert "PLAYBACKSTATUS" in usage.data and "End of proper usage" not in usage.data


# -- the recorded session replayed through the FastAGI server (tier 2) ----------------------


async def replay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> list[bytes]:
    """Asterisk's side: the recorded environment, then each recorded reply to its command."""
    writer.write(ENVIRONMENT)
    seen = []
    for command, reply in EXCHANGES:
        line = await asyncio.wait_for(reader.readline(), WAIT)
        seen.append(line)
        assert line == command + b"\n"
        writer.write(reply)
        await writer.drain()
    assert await asyncio.wait_for(reader.read(), WAIT) == b""
    writer.close()
    return seen


def args(name: str) -> tuple[Any, ...]:
    command: Command = COMMANDS[name]
    return command.args


async def recorded_flow(session: AgiSession) -> dict[str, object]:
    """The session's helpers, in the order of the recording."""
    out: dict[str, object] = {}

    async def expect_error(name: str, call: Any) -> None:
        try:
            await call
        except AgiError as exc:
            out[name] = type(exc).__name__
        else:
            out[name] = "no error"

    await session.answer()
    await session.set_variable(*args("set_variable"))
    out["get_variable_set"] = await session.get_variable(*args("get_variable_set"))
    out["get_variable_dialplan"] = await session.get_variable(*args("get_variable_dialplan"))
    out["get_variable_unset"] = await session.get_variable(*args("get_variable_unset"))
    out["get_variable_function"] = await session.get_variable(*args("get_variable_function"))
    await session.verbose(*args("verbose"))
    out["stream_file_to_end"] = await session.stream_file(*args("stream_file_to_end"))
    out["stream_file_key"] = await session.stream_file(*args("stream_file_key"))
    out["stream_file_long_key"] = await session.stream_file(*args("stream_file_long_key"))
    await expect_error("stream_file_missing", session.stream_file(*args("stream_file_missing")))
    out["get_data_timeout"] = await session.get_data(*args("get_data_timeout"))
    out["get_data_keys"] = await session.get_data(*args("get_data_keys"))
    out["wait_for_digit_timeout"] = await session.wait_for_digit(*args("wait_for_digit_timeout"))
    out["wait_for_digit_key"] = await session.wait_for_digit(*args("wait_for_digit_key"))
    out["exec_playback"] = (await session.exec(*args("exec_playback"))).result
    out["exec_read"] = (await session.exec(*args("exec_read"))).result
    out["get_variable_read"] = await session.get_variable(*args("get_variable_read"))
    out["exec_queue"] = (await session.exec(*args("exec_queue"))).result
    out["get_variable_queuestatus"] = await session.get_variable(
        *args("get_variable_queuestatus")
    )
    out["exec_audiosocket_refused"] = (await session.exec(*args("exec_audiosocket_refused"))).result
    await expect_error("exec_missing_app", session.exec(*args("exec_missing_app")))
    out["gosub"] = await session.gosub(*args("gosub"))
    out["get_variable_gosub"] = await session.get_variable(*args("get_variable_gosub"))
    await expect_error("gosub_missing", session.gosub(*args("gosub_missing")))
    out["speech_create"] = (await session.command("SPEECH CREATE", *args("speech_create"))).result
    recognized = await session.command("SPEECH RECOGNIZE", *args("speech_recognize"))
    out["speech_recognize"] = (recognized.result, speech_results(recognized))
    await session.command("SPEECH DESTROY")
    await expect_error("invalid_command", session.command("NO SUCH COMMAND"))
    await expect_error("usage", session.command("STREAM FILE"))
    await session.hangup()
    out["get_variable_after_hangup"] = (
        await session.command("GET VARIABLE", *args("get_variable_after_hangup"), after_hangup=True)
    ).data
    out["hung_up"] = session.hung_up
    await expect_error(
        "stream_file_after_hangup",
        session.command("STREAM FILE", *args("stream_file_after_hangup"), after_hangup=True),
    )
    return out


@pytest.fixture
async def server_and_outcome() -> AsyncIterator[tuple[FastAgiServer, asyncio.Future[Any]]]:
    outcome: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def handler(session: AgiSession) -> None:
        try:
            outcome.set_result(await recorded_flow(session))
        except BaseException as exc:
            outcome.set_exception(exc)
            raise

    server = FastAgiServer("127.0.0.1", 0, {"capture": handler})
    await server.start()
    yield server, outcome
    await server.stop()


async def test_the_recorded_session_replayed_through_the_server(
    server_and_outcome: tuple[FastAgiServer, asyncio.Future[Any]],
) -> None:
    server, outcome = server_and_outcome
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    await replay(reader, writer)
    assert await asyncio.wait_for(outcome, WAIT) == {
        "get_variable_set": "Иван (тест) = 1",
        "get_variable_dialplan": "две (2) части = ok",
        "get_variable_unset": None,
        "get_variable_function": "0",
        "stream_file_to_end": None,
        "stream_file_key": "5",
        "stream_file_long_key": "7",
        "stream_file_missing": AgiHangup.__name__,  # -1: missing file (or a hangup)
        "get_data_timeout": "",
        "get_data_keys": "12",
        "wait_for_digit_timeout": None,
        "wait_for_digit_key": "#",
        "exec_playback": "0",
        "exec_read": "0",
        "get_variable_read": "42",
        "exec_queue": "0",
        "get_variable_queuestatus": "TIMEOUT",
        "exec_audiosocket_refused": "-1",
        "exec_missing_app": AgiError.__name__,
        "gosub": "0",
        "get_variable_gosub": "из подпрограммы",  # not GOSUB's late "200 result=0"
        "gosub_missing": AgiError.__name__,
        "speech_create": "0",
        "speech_recognize": ("0", []),
        "invalid_command": AgiInvalidCommand.__name__,
        "usage": AgiUsageError.__name__,
        "get_variable_after_hangup": "Иван (тест) = 1",
        "hung_up": True,
        "stream_file_after_hangup": AgiHangup.__name__,
    }
    assert AgiDeadChannel.__name__  # 511 after the hangup is reported as the hangup it is


# -- AMI ------------------------------------------------------------------------------------


def ami_messages(size: int) -> tuple[AmiParser, list[AmiMessage]]:
    data = AMI_FILE.read_bytes()
    parser = AmiParser()
    messages = [m for i in range(0, len(data), size) for m in parser.feed(data[i : i + size])]
    return parser, messages


@pytest.mark.parametrize("size", [1, 5, 77, 1 << 20])
def test_the_recorded_ami_session_parses(size: int) -> None:
    parser, messages = ami_messages(size)
    assert parser.greeting == "Asterisk Call Manager/11.0.0" and parser.version == "11.0.0"
    by_id: dict[str, list[AmiMessage]] = {}
    for message in messages:
        by_id.setdefault(message.action_id or "", []).append(message)
    (login,) = by_id["capture-1"]
    assert (login.kind, login.name, login["Message"]) == (
        "response", "Success", "Authentication accepted"
    )
    # An asynchronous Originate: queued, then an event with the same ActionID.
    originate, originated = by_id["capture-2"]
    assert (originate.name, originate["Message"]) == ("Success", "Originate successfully queued")
    assert (originated.name, originated["Response"], originated["Reason"]) == (
        "OriginateResponse", "Success", "4"
    )
    channels, *items = by_id["capture-3"]
    # CoreShowChannels: a response opening the list, one event per channel, the closing event.
    assert (channels.name, channels["EventList"]) == ("Success", "start")
    *rows, complete = items
    assert [m.name for m in rows] == ["CoreShowChannel", "CoreShowChannel"]
    assert {m["Channel"][-2:] for m in rows} == {";1", ";2"}
    assert (complete.name, complete["EventList"], complete["ListItems"]) == (
        "CoreShowChannelsComplete", "Complete", "2"
    )
    (status,) = by_id["capture-4"]
    assert status.name == "Success" and status["CoreStartupDate"] and status["CoreReloadTime"]
    (error,) = by_id["capture-5"]
    assert error.name == "Error" and error["Message"].startswith("Invalid/unknown command")
    (command,) = by_id["capture-6"]  # the controller's AMI user has no `command` right
    assert (command.name, command["Message"]) == ("Error", "Permission denied")
    events = [m.name for m in messages if m.is_event and m.action_id is None]
    for name in ("Newchannel", "NewCallerid", "DialBegin", "Newstate", "DialEnd",
                 "QueueCallerJoin", "QueueCallerLeave", "Hangup"):
        assert name in events, name
    hangup = next(m for m in messages if m.name == "Hangup")
    assert hangup["Cause"].isdigit() and hangup["Uniqueid"] and hangup["Linkedid"]
    assert messages[-1].name == "Goodbye"
