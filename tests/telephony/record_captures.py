"""Record what the project's own Asterisk 22 sends over FastAGI and AMI, as raw bytes.

    HOTLINE_TEST_PORT_OFFSET=400 \
        .venv/bin/python tests/telephony/record_captures.py

(as root: the PBX runs in a chroot). It starts the test stack's PBX on its own ports
(tests/harness.py; the recorder stands in for the controller), logs in to AMI as the controller does, originates one call into the
test-only context ``test-agi-capture`` (dialplans/extensions_test.conf.j2), which hands the
call to a FastAGI recorder here; the recorder sends every AGI command the flows use (and
GOSUB, SPEECH) and saves the replies exactly as they came. Keys are pressed by AMI PlayDTMF
on the other half of the Local channel. Written under tests/telephony/captures/:

* ``agi-session.txt``: the environment, then for each command a line ``>>> <command>``
  followed by every byte Asterisk sent until that command's final reply (a ``HANGUP``
  signal line included, where it came). The tests replay it.
* ``ami-session.raw``: every byte received on the AMI connection (greeting, login,
  events, lists, errors), unchanged. ``ami-actions.txt``: the actions sent (no secret).

The command table is :data:`AGI_COMMANDS`; the tests import it to replay the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CAPTURES = Path(__file__).resolve().parent / "captures"
AGI_FILE = CAPTURES / "agi-session.txt"
AMI_FILE = CAPTURES / "ami-session.raw"
AMI_ACTIONS_FILE = CAPTURES / "ami-actions.txt"
COMMAND_MARK = b">>> "


@dataclass(frozen=True)
class Command:
    name: str
    verb: str
    args: tuple[str | int, ...] = ()
    dtmf: str = ""  # keys pressed (AMI PlayDTMF) once the command runs


# The AGI commands the flows use (ivr/, callback_queue/: EXEC Playback/Read/Queue/AudioSocket,
# GET/SET VARIABLE, GET DATA, ANSWER...), the helpers of telephony.agi.AgiSession, GOSUB,
# SPEECH, and the error replies (510, 520 usage, 511 after the hangup).
AGI_COMMANDS: tuple[Command, ...] = (
    Command("answer", "ANSWER"),
    Command("set_variable", "SET VARIABLE", ("CAPTURE_SET", "Иван (тест) = 1")),
    Command("get_variable_set", "GET VARIABLE", ("CAPTURE_SET",)),
    Command("get_variable_dialplan", "GET VARIABLE", ("CAPTURE_VALUE",)),
    Command("get_variable_unset", "GET VARIABLE", ("CAPTURE_NOPE",)),
    Command("get_variable_function", "GET VARIABLE", ("QUEUE_WAITING_COUNT(operators)",)),
    Command("verbose", "VERBOSE", ("capture: запись ответов", 1)),
    Command("stream_file_to_end", "STREAM FILE", ("digits/1", "")),
    Command("stream_file_key", "STREAM FILE", ("silence/10", "0123456789*#"), "5"),
    Command("stream_file_long_key", "STREAM FILE", ("queue-periodic-announce", "0123456789"), "7"),
    Command("stream_file_missing", "STREAM FILE", ("no/such/file", "")),
    Command("get_data_timeout", "GET DATA", ("digits/1", 300, 4)),
    Command("get_data_keys", "GET DATA", ("silence/3", 3000, 2), "12"),
    Command("wait_for_digit_timeout", "WAIT FOR DIGIT", (200,)),
    Command("wait_for_digit_key", "WAIT FOR DIGIT", (5000,), "#"),
    Command("exec_playback", "EXEC", ("Playback", "digits/1&digits/2")),
    Command("exec_read", "EXEC", ("Read", "HOTLINE_INPUT,silence/3,4,,1,1.5"), "42"),
    Command("get_variable_read", "GET VARIABLE", ("HOTLINE_INPUT",)),
    Command("exec_queue", "EXEC", ("Queue", "operators,,,,1")),
    Command("get_variable_queuestatus", "GET VARIABLE", ("QUEUESTATUS",)),
    Command("exec_audiosocket_refused", "EXEC",
            ("AudioSocket", "9d1f0c3e-6a53-4c1e-8d54-0c7f3e9a1b2c,127.0.0.1:9")),
    Command("exec_missing_app", "EXEC", ("NoSuchApplication", "x")),
    Command("gosub", "GOSUB", ("test-agi-gosub", "s", 1, "из подпрограммы")),
    Command("get_variable_gosub", "GET VARIABLE", ("CAPTURE_GOSUB",)),
    Command("gosub_missing", "GOSUB", ("no-such-context", "s", 1)),
    Command("speech_create", "SPEECH CREATE", ("hotline",)),
    Command("speech_recognize", "SPEECH RECOGNIZE", ("digits/1", 1000)),
    Command("speech_destroy", "SPEECH DESTROY"),
    Command("invalid_command", "NO SUCH COMMAND"),
    Command("usage", "STREAM FILE"),
    Command("hangup", "HANGUP"),
    Command("get_variable_after_hangup", "GET VARIABLE", ("CAPTURE_SET",)),
    Command("stream_file_after_hangup", "STREAM FILE", ("digits/1", "")),
)


def final_reply_complete(received: bytes) -> bool:
    """Has ``received`` (one command's bytes) reached a final reply? Independent of the
    parser under test: a line ``NNN <text>`` with NNN >= 200 that does not end an open
    ``NNN-`` block... which it does end, since the block's last line is ``NNN <text>``."""
    for line in received.split(b"\n")[:-1]:
        code = line[:3]
        if len(code) == 3 and code.isdigit() and line[3:4] in (b" ", b"") and int(code) >= 200:
            return True
    return False


def read_transcript(path: Path = AGI_FILE) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The environment bytes and ``(command line, reply bytes)`` pairs of a recorded session."""
    data = path.read_bytes()
    head, *blocks = data.split(b"\n" + COMMAND_MARK)
    if head.startswith(COMMAND_MARK):
        raise ValueError("a transcript starts with the environment")
    environment = head + b"\n"
    pairs = []
    for block in blocks:
        command, _, reply = block.partition(b"\n")
        pairs.append((command, reply))
    # Every block but the last lost the "\n" that precedes the next marker: give it back.
    pairs = [(c, r + b"\n") if i < len(pairs) - 1 else (c, r) for i, (c, r) in enumerate(pairs)]
    return environment, pairs


# -- recording (needs the real stack) ----------------------------------------------------------


class AmiRaw:
    """A raw AMI connection: every byte received is kept; actions are written as they are."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.received = bytearray()
        self.sent: list[str] = []
        self._ids = 0
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while data := await self.reader.read(65536):
            self.received += data

    async def send(self, action: str, secret: str = "", **fields: str) -> str:
        self._ids += 1
        action_id = f"capture-{self._ids}"
        lines = [f"Action: {action}", f"ActionID: {action_id}"]
        lines += [f"{key}: {value}" for key, value in fields.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        shown = [line if not secret or secret not in line else "Secret: ***" for line in lines]
        self.sent.append("\r\n".join(shown) + "\r\n")
        return action_id

    async def wait_for(self, needle: bytes, timeout: float = 20.0, count: int = 1) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.received.count(needle) < count:
            if loop.time() > deadline:
                raise TimeoutError(f"no {needle!r} from AMI within {timeout} s")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        self.writer.close()
        await asyncio.gather(self._task, return_exceptions=True)


async def record(settings) -> None:  # type: ignore[no-untyped-def]
    from telephony.agi.protocol import encode_command

    host = settings.internal_bind_address
    reader, writer = await asyncio.open_connection(host, settings.ami_port)
    ami = AmiRaw(reader, writer)
    await ami.wait_for(b"\r\n")
    await ami.send("Login", settings.ami_secret, Username=settings.ami_username,
                   Secret=settings.ami_secret, Events="on")
    await ami.wait_for(b"Authentication accepted")

    sessions: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def on_agi(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await sessions.put((r, w))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()  # the recorder below owns the connection

    server = await asyncio.start_server(on_agi, host, 0)
    port = server.sockets[0].getsockname()[1]
    await ami.send("Originate", Channel=f"Local/{port}@test-agi-capture/n", Application="Wait",
                   Data="300", Async="true", CallerID="capture <100>")
    agi_reader, agi_writer = await asyncio.wait_for(sessions.get(), 30)
    environment = await asyncio.wait_for(agi_reader.readuntil(b"\n\n"), 10)
    channel = next(line.split(b": ", 1)[1].decode() for line in environment.split(b"\n")
                   if line.startswith(b"agi_channel: "))
    other_half = channel.removesuffix(";2") + ";1"
    transcript = bytearray(environment)
    pending = b""
    for number, command in enumerate(AGI_COMMANDS):
        line = encode_command(command.verb, *command.args)
        agi_writer.write(line)
        await agi_writer.drain()
        if number == 1:
            await ami.send("CoreShowChannels")
            await ami.send("CoreStatus")
            await ami.send("NoSuchAction")
            await ami.send("Command", Command="core show uptime")
        if command.dtmf:
            await asyncio.sleep(0.8)  # the command must be running when the keys come
            for digit in command.dtmf:
                await ami.send("PlayDTMF", Channel=other_half, Digit=digit, Duration="120")
                await asyncio.sleep(0.3)
        received = pending
        while not final_reply_complete(received):
            chunk = await asyncio.wait_for(agi_reader.read(65536), 30)
            if not chunk:
                break
            received += chunk
        # Bytes after the final reply's line belong to what comes next (a HANGUP signal).
        cut = _after_final_line(received)
        reply, pending = received[:cut], received[cut:]
        transcript += COMMAND_MARK + line + reply
        print(f"{command.name:28} {reply!r}")
    try:
        rest = await asyncio.wait_for(agi_reader.read(), 5)
    except TimeoutError:
        rest = b""
    transcript += pending + rest
    agi_writer.close()
    server.close()
    await ami.wait_for(b"Event: Hangup\r\n", count=2)  # both halves of the Local channel
    await ami.send("Logoff")
    await ami.wait_for(b"Goodbye")
    await ami.close()
    CAPTURES.mkdir(exist_ok=True)
    AGI_FILE.write_bytes(bytes(transcript))
    AMI_FILE.write_bytes(bytes(ami.received))
    AMI_ACTIONS_FILE.write_text("\r\n".join(ami.sent))
    print(f"wrote {AGI_FILE}, {AMI_FILE} ({len(ami.received)} bytes)")


def _after_final_line(received: bytes) -> int:
    position = 0
    for line in received.split(b"\n")[:-1]:
        position += len(line) + 1
        code = line[:3]
        if len(code) == 3 and code.isdigit() and line[3:4] in (b" ", b"") and int(code) >= 200:
            return position
    return len(received)


def main() -> None:
    tests = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(tests), str(tests.parent)]
    from harness import test_settings

    from hotline.stack import stack as stack_parts

    settings = test_settings(Path(tempfile.mkdtemp(prefix="hotline-capture-", dir="/tmp")))
    stack_parts.stop_all(settings)
    try:
        stack_parts.start_pbx(settings)  # Asterisk alone: the recorder stands in for the controller
        asyncio.run(record(settings))
    finally:
        stack_parts.stop_all(settings)


if __name__ == "__main__":
    main()
