"""The (Fast)AGI wire protocol, without I/O.

Bytes from Asterisk go into :meth:`AgiParser.feed`; frozen events come out:
one :class:`AgiEnvironment`, then :class:`AgiResponse` and :class:`HangupSignal`.
:func:`encode_command` turns a command into bytes. Nothing here touches a socket.

Rules this module keeps:

* Lines end with LF (a trailing CR is dropped). They are decoded as UTF-8; invalid
  bytes are replaced, never fatal.
* The connection opens with the environment: ``agi_<name>: <value>`` lines ended by
  an empty line. Every line must have the ``agi_`` prefix and a ``:``.
* Then each command gets exactly one reply: ``<code> <text>``. ``200 result=<r>``
  may carry ``(<data>)`` (the data may contain spaces and parentheses; it ends at
  the last ``)`` before optional ``key=value`` pairs such as ``endpos=<n>``).
* ``<code>-<text>`` opens a multi-line reply (``520-Invalid command syntax.``) that
  ends with the first ``<code> <text>`` line; the lines between are its data.
* A line that is exactly ``HANGUP`` is Asterisk's hangup signal (AGISIGHUP), not a
  reply: it may come at any time and is reported as :class:`HangupSignal`.
* Blank lines after the environment are ignored.
* Limits on line length, environment size and multi-line replies. Breaking a rule
  raises :class:`AgiProtocolError` quoting the raw input; the parser is then unusable.
* Commands: a verb made of letters and single spaces (``STREAM FILE``), then the
  arguments, each quoted with ``"`` when empty or when it holds blanks, ``"`` or
  ``\\`` (inner ``"`` and ``\\`` escaped with ``\\``). CR, LF or NUL anywhere is
  refused with :class:`ValueError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NoReturn
from urllib.parse import parse_qsl, urlsplit

from telephony.agi.errors import (
    AgiDeadChannel,
    AgiError,
    AgiInvalidCommand,
    AgiProtocolError,
    AgiUsageError,
)

__all__ = [
    "AgiEnvironment",
    "AgiEvent",
    "AgiParser",
    "AgiResponse",
    "HangupSignal",
    "check_response",
    "encode_command",
    "parse_environment",
    "parse_response",
]

_QUOTE_LIMIT = 200
_RESULT = re.compile(
    r"^result=(?P<result>\S*)"
    r"(?: \((?P<data>.*)\))?"
    r"(?P<pairs>(?: [A-Za-z_]+=\S*)*)\s*$"
)
_STATUS = re.compile(r"^(?P<code>\d{3})(?P<sep>[ -]|$)(?P<text>.*)$")
_VERB = re.compile(r"^[A-Za-z]+(?: [A-Za-z]+)*$")
_FORBIDDEN = ("\r", "\n", "\x00")


def _quote(raw: bytes | str) -> str:
    """``repr`` of untrusted input, truncated so that errors stay readable."""
    if len(raw) > _QUOTE_LIMIT:
        return f"{raw[:_QUOTE_LIMIT]!r}... ({len(raw)} bytes)"
    return repr(raw)


def _fail(reason: str, raw: bytes | str) -> NoReturn:
    raise AgiProtocolError(f"AGI protocol error: {reason}: {_quote(raw)}")


@dataclass(frozen=True, slots=True)
class AgiEnvironment(Mapping[str, str]):
    """The ``agi_*`` variables Asterisk sends first; a read-only mapping."""

    variables: tuple[tuple[str, str], ...]
    _index: dict[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", dict(self.variables))

    def __getitem__(self, key: str) -> str:
        return self._index[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def _value(self, name: str) -> str:
        return self._index.get(f"agi_{name}", "")

    @property
    def request(self) -> str:
        """``agi_request``: ``agi://127.0.0.1:4573/hotline?x=1`` for FastAGI."""
        return self._value("request")

    @property
    def script(self) -> str:
        """The path of the request URL without slashes around it: ``hotline``."""
        request = self.request
        if "://" not in request:
            return request.partition("?")[0].strip("/")
        return urlsplit(request).path.strip("/")

    @property
    def params(self) -> dict[str, str]:
        """The query arguments of the request URL (the first of repeated names wins)."""
        query = urlsplit(self.request).query if "://" in self.request else ""
        if not query:
            query = self.request.partition("?")[2]
        params: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(key, value)
        return params

    @property
    def args(self) -> list[str]:
        """``agi_arg_1``, ``agi_arg_2``... in order: the arguments after the URL."""
        numbered: list[tuple[int, str]] = []
        for key, value in self.variables:
            suffix = key.removeprefix("agi_arg_")
            if suffix != key and suffix.isdigit():
                numbered.append((int(suffix), value))
        return [value for _, value in sorted(numbered)]

    @property
    def channel(self) -> str:
        return self._value("channel")

    @property
    def uniqueid(self) -> str:
        return self._value("uniqueid")

    @property
    def callerid(self) -> str:
        return self._value("callerid")

    @property
    def calleridname(self) -> str:
        return self._value("calleridname")

    @property
    def dnid(self) -> str:
        return self._value("dnid")

    @property
    def extension(self) -> str:
        return self._value("extension")

    @property
    def context(self) -> str:
        return self._value("context")

    @property
    def priority(self) -> str:
        return self._value("priority")

    @property
    def language(self) -> str:
        return self._value("language")

    @property
    def version(self) -> str:
        return self._value("version")


@dataclass(frozen=True, slots=True)
class AgiResponse:
    """One reply to one command. For non-200 codes ``data`` holds the text."""

    code: int
    result: str
    data: str | None = None
    endpos: int | None = None


@dataclass(frozen=True, slots=True)
class HangupSignal:
    """The ``HANGUP`` line: the channel hung up; commands now mostly get 511."""


AgiEvent = AgiEnvironment | AgiResponse | HangupSignal


def parse_environment(lines: Iterable[str]) -> AgiEnvironment:
    """Build the environment from its lines (without the terminating blank line)."""
    variables: list[tuple[str, str]] = []
    for line in lines:
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not key.startswith("agi_") or " " in key:
            _fail("bad AGI environment line", line)
        variables.append((key, value.strip()))
    return AgiEnvironment(tuple(variables))


def parse_response(line: str, extra_lines: Iterable[str] = ()) -> AgiResponse:
    """Parse a reply status line; ``extra_lines`` are the inner lines of a multi-line reply."""
    status = _STATUS.match(line)
    if status is None:
        _fail("bad AGI reply line", line)
    code = int(status["code"])
    text = status["text"].strip()
    if code != 200:
        inner = list(extra_lines)
        return AgiResponse(code=code, result="", data="\n".join(inner) if inner else text)
    match = _RESULT.match(text)
    if match is None:
        if not text.startswith("result="):
            _fail("200 reply without result=", line)
        result, _, rest = text.removeprefix("result=").partition(" ")
        return AgiResponse(code=code, result=result, data=rest.strip() or None)
    endpos: int | None = None
    for pair in match["pairs"].split():
        key, _, value = pair.partition("=")
        if key == "endpos":
            try:
                endpos = int(value)
            except ValueError:
                _fail("bad endpos", line)
    return AgiResponse(code=code, result=match["result"], data=match["data"], endpos=endpos)


def check_response(response: AgiResponse) -> AgiResponse:
    """Return a 200 reply; raise the exception class that matches any other code."""
    if response.code == 200:
        return response
    text = f"AGI {response.code}: {response.data or ''}".strip()
    if response.code == 510:
        raise AgiInvalidCommand(text, response)
    if response.code == 511:
        raise AgiDeadChannel(text, response)
    if response.code == 520:
        raise AgiUsageError(text, response)
    raise AgiError(text, response)


class AgiParser:
    """Incremental AGI parser for the Asterisk → script direction."""

    def __init__(
        self,
        *,
        max_line_bytes: int = 64 * 1024,
        max_env_lines: int = 512,
        max_reply_lines: int = 512,
    ) -> None:
        self.max_line_bytes = max_line_bytes
        self.max_env_lines = max_env_lines
        self.max_reply_lines = max_reply_lines
        self.environment: AgiEnvironment | None = None
        self._buffer = bytearray()
        self._scanned = 0
        self._env_lines: list[str] = []
        self._multi_code: str | None = None
        self._multi_lines: list[str] = []
        self._error: AgiProtocolError | None = None

    def feed(self, data: bytes) -> list[AgiEvent]:
        """Consume ``data``; return the events it completes (possibly none)."""
        if self._error is not None:
            raise self._error
        try:
            return self._feed(data)
        except AgiProtocolError as exc:
            self._error = exc
            raise

    def _feed(self, data: bytes) -> list[AgiEvent]:
        self._buffer += data
        events: list[AgiEvent] = []
        start = 0
        while True:
            end = self._buffer.find(b"\n", max(start, self._scanned))
            if end < 0:
                break
            raw = bytes(self._buffer[start:end]).removesuffix(b"\r")
            start = end + 1
            if len(raw) > self.max_line_bytes:
                _fail(f"line longer than {self.max_line_bytes} bytes", raw)
            event = self._take_line(raw.decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
        del self._buffer[:start]
        self._scanned = len(self._buffer)
        if len(self._buffer) > self.max_line_bytes:
            _fail(f"line longer than {self.max_line_bytes} bytes", bytes(self._buffer))
        return events

    def _take_line(self, line: str) -> AgiEvent | None:
        if self.environment is None:
            if line.strip():
                if len(self._env_lines) >= self.max_env_lines:
                    _fail(f"environment longer than {self.max_env_lines} lines", line)
                self._env_lines.append(line)
                return None
            if not self._env_lines:
                return None  # tolerate blank lines before the environment
            self.environment = parse_environment(self._env_lines)
            self._env_lines = []
            return self.environment
        if line == "HANGUP":
            return HangupSignal()
        if self._multi_code is not None:
            if line.startswith(self._multi_code + " "):
                inner, self._multi_lines, self._multi_code = self._multi_lines, [], None
                return parse_response(line, inner)
            if len(self._multi_lines) >= self.max_reply_lines:
                _fail(f"multi-line reply longer than {self.max_reply_lines} lines", line)
            self._multi_lines.append(line)
            return None
        if not line.strip():
            return None
        status = _STATUS.match(line)
        if status is not None and status["sep"] == "-":
            self._multi_code = status["code"]
            self._multi_lines = [status["text"].strip()]
            return None
        return parse_response(line)


def _encode_argument(argument: str | int) -> str:
    if isinstance(argument, bool):
        raise TypeError(f"AGI argument must be str or int, not bool: {argument!r}")
    text = str(argument)
    if any(c in text for c in _FORBIDDEN):
        raise ValueError(f"CR, LF or NUL in an AGI argument: {_quote(text)}")
    if text and not any(c in text for c in ' \t"\\'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_command(verb: str, *arguments: str | int) -> bytes:
    """``encode_command("STREAM FILE", "hello-world", "")`` → ``STREAM FILE hello-world ""``."""
    if not _VERB.match(verb):
        raise ValueError(f"invalid AGI command verb: {_quote(verb)}")
    parts = [verb.upper(), *(_encode_argument(argument) for argument in arguments)]
    return (" ".join(parts) + "\n").encode("utf-8")
