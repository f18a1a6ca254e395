"""The (Fast)AGI wire protocol, without I/O.

Bytes from Asterisk go into :meth:`AgiParser.feed`; frozen events come out:
one :class:`AgiEnvironment`, then :class:`AgiResponse` and :class:`HangupSignal`.
:func:`encode_command` turns a command into bytes. Nothing here touches a socket.

Rules this module keeps:

* Lines end with LF (a trailing CR is dropped). They are decoded as UTF-8; invalid
  bytes are replaced, never fatal.
* The connection opens with the environment: ``agi_<name>: <value>`` lines ended by
  an empty line. Every line must have the ``agi_`` prefix and a ``:``.
* Then each command gets one final reply: ``<code> <text>``, where ``<text>`` usually
  starts with ``result=<r>``. ``100 result=0 Trying...`` (GOSUB) is provisional: it is
  parsed like any reply and the session waits for the final one after it.
* After ``result=<r>`` comes either ``(<data>)`` or free text (``Gosub complete``), and
  then ``key=value`` pairs (``endpos=0``, ``score0=969``, ``text0="two words"``). When
  the line ends with ``)`` the data is everything between the first ``(`` and that last
  ``)`` (``GET VARIABLE`` values may hold anything); otherwise the data ends at the
  first ``)`` (Asterisk writes a fixed word there: ``(speech)``, ``(timeout)``...) and
  pairs follow. A quoted value ends at a ``"`` followed by the end of the line or by
  `` key=``. Every pair is kept, in wire order, in :attr:`AgiResponse.fields`.
* ``<code>-<text>`` opens a multi-line reply (``520-Invalid command syntax.``) that
  ends with the first ``<code> <text>`` line; the lines between are its data.
* A line that is exactly ``HANGUP`` is Asterisk's hangup signal (AGISIGHUP), not a
  reply: it may come at any time and is reported as :class:`HangupSignal`.
* Blank lines after the environment are ignored.
* No regular expressions on input: every line is read with ``find``/``partition`` in
  time linear in its length.
* Limits on line length, environment size and multi-line replies. Breaking a rule
  raises :class:`AgiProtocolError` quoting the raw input; the parser is then unusable.
* Commands: a verb made of letters and single spaces (``STREAM FILE``), then the
  arguments, each quoted with ``"`` when empty or when it holds blanks, ``"`` or
  ``\\`` (inner ``"`` and ``\\`` escaped with ``\\``). CR, LF or NUL anywhere is
  refused with :class:`ValueError`.
"""

from __future__ import annotations

import string
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
    "SpeechResult",
    "check_response",
    "encode_command",
    "parse_environment",
    "parse_response",
    "speech_results",
]

_QUOTE_LIMIT = 200
_KEY_CHARS = frozenset(string.ascii_letters + string.digits + "_")
_FORBIDDEN = ("\r", "\n", "\x00")
PROVISIONAL = 100  # "100 result=0 Trying...": the final reply follows


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
    """One reply to one command.

    ``data`` is the parenthesised data (``timeout``, a variable's value) or the free
    text after the result (``Gosub complete``); for codes without ``result=`` it is the
    whole text. ``fields`` are the ``key=value`` pairs in wire order (quotes removed),
    ``endpos`` the ``endpos`` pair as a number.
    """

    code: int
    result: str
    data: str | None = None
    endpos: int | None = None
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def provisional(self) -> bool:
        """A ``1xx`` reply (GOSUB's ``Trying...``): the final reply is still to come."""
        return 100 <= self.code < 200

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of the first ``key=value`` pair named ``key``, or ``default``."""
        for name, value in self.fields:
            if name == key:
                return value
        return default


@dataclass(frozen=True, slots=True)
class SpeechResult:
    """One alternative of a ``SPEECH RECOGNIZE`` reply (``score0``, ``text0``, ``grammar0``)."""

    score: int
    text: str
    grammar: str


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


def _split_status(line: str) -> tuple[int, str, str] | None:
    """``"520-Invalid..."`` → ``(520, "-", "Invalid...")``; None if it is no reply line."""
    digits = line[:3]
    if len(digits) != 3 or not (digits.isascii() and digits.isdigit()):
        return None
    sep = line[3:4]
    if sep not in ("", " ", "-"):
        return None
    return int(digits), sep, line[4:]


def _key_end(text: str, start: int) -> int:
    """The index of the ``=`` ending a key that starts at ``start``, or -1."""
    end = start
    length = len(text)
    while end < length and text[end] in _KEY_CHARS:
        end += 1
    if end == start or end >= length or text[end] != "=":
        return -1
    return end


def _closing_quote(text: str, start: int) -> int:
    """The ``"`` closing a value opened before ``start``: one followed by the end or a pair."""
    length = len(text)
    position = start
    while True:
        quote = text.find('"', position)
        if quote < 0:
            return -1
        after = quote + 1
        if after == length:
            return quote
        if text[after] == " ":
            while after < length and text[after] == " ":
                after += 1
            if after == length or _key_end(text, after) >= 0:
                return quote
        position = quote + 1


def _parse_pairs(text: str) -> tuple[tuple[str, str], ...] | None:
    """``endpos=0 text0="a b"`` → pairs; None if ``text`` is not made of pairs only."""
    pairs: list[tuple[str, str]] = []
    length = len(text)
    position = 0
    while True:
        while position < length and text[position] == " ":
            position += 1
        if position >= length:
            return tuple(pairs)
        equals = _key_end(text, position)
        if equals < 0:
            return None
        key = text[position:equals]
        start = equals + 1
        if start < length and text[start] == '"':
            close = _closing_quote(text, start + 1)
            if close < 0:
                return None
            value, position = text[start + 1 : close], close + 1
        else:
            end = text.find(" ", start)
            end = length if end < 0 else end
            value, position = text[start:end], end
        pairs.append((key, value))


def parse_response(line: str, extra_lines: Iterable[str] = ()) -> AgiResponse:
    """Parse a reply status line; ``extra_lines`` are the inner lines of a multi-line reply."""
    status = _split_status(line)
    if status is None:
        _fail("bad AGI reply line", line)
    code, _, text = status
    text = text.strip()
    inner = list(extra_lines)
    if inner:
        return AgiResponse(code=code, result="", data="\n".join(inner))
    if not text.startswith("result="):
        if code == 200:
            _fail("200 reply without result=", line)
        return AgiResponse(code=code, result="", data=text)
    result, _, rest = text.removeprefix("result=").partition(" ")
    rest = rest.strip()
    data: str | None = None
    tail = rest
    if rest.startswith("("):
        if rest.endswith(")"):
            return AgiResponse(code=code, result=result, data=rest[1:-1])
        close = rest.find(")")
        if close < 0:
            _fail("unclosed '(' in AGI reply", line)
        data, tail = rest[1:close], rest[close + 1 :]
    fields = _parse_pairs(tail)
    if fields is None:
        if data is not None:
            _fail("bad key=value pairs after the data of an AGI reply", line)
        return AgiResponse(code=code, result=result, data=tail or None)
    endpos: int | None = None
    for key, value in fields:
        if key == "endpos" and endpos is None:
            endpos = _integer(value, "bad endpos", line)
    return AgiResponse(code=code, result=result, data=data, endpos=endpos, fields=fields)


def _integer(value: str, reason: str, line: str) -> int:
    digits = value.removeprefix("-")
    if not digits or len(digits) > 20 or not (digits.isascii() and digits.isdigit()):
        _fail(reason, line)
    return int(value)


def speech_results(response: AgiResponse) -> list[SpeechResult]:
    """The alternatives of a ``SPEECH RECOGNIZE`` reply that ended with ``(speech)``.

    Any other reply (timeout, digit, hangup, failure) has none: ``[]``.
    """
    if response.data != "speech":
        return []
    raw = response.get("results")
    if raw is None:
        _fail("SPEECH RECOGNIZE reply without results=", repr(response))
    count = _integer(raw, "bad results= in SPEECH RECOGNIZE reply", repr(response))
    results: list[SpeechResult] = []
    for index in range(count):
        score = response.get(f"score{index}")
        text = response.get(f"text{index}")
        grammar = response.get(f"grammar{index}")
        if score is None or text is None or grammar is None:
            _fail(f"SPEECH RECOGNIZE reply without result {index}", repr(response))
        results.append(SpeechResult(_integer(score, "bad score", repr(response)), text, grammar))
    return results


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
        status = _split_status(line)
        if status is not None and status[1] == "-":
            self._multi_code = line[:3]
            self._multi_lines = [status[2].strip()]
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
    words = verb.split(" ")
    if not all(word.isascii() and word.isalpha() for word in words):
        raise ValueError(f"invalid AGI command verb: {_quote(verb)}")
    parts = [verb.upper(), *(_encode_argument(argument) for argument in arguments)]
    return (" ".join(parts) + "\n").encode("utf-8")
