"""The Asterisk Manager Interface wire protocol, without I/O.

Bytes go into :meth:`AmiParser.feed`, frozen :class:`AmiMessage` objects come out;
:func:`encode_action` turns an action into bytes. Nothing here touches a socket.

Rules this module keeps:

* The very first line of a connection may be the greeting
  ``Asterisk Call Manager/X.Y.Z``; it is stored in :attr:`AmiParser.greeting` and is
  never returned as a message.
* A message is a block of ``Key: Value`` lines ended by an empty line. Lines end with
  CRLF; a bare LF is tolerated. Extra empty lines between messages are skipped.
* The key is what precedes the first ``:``; the value is the rest with surrounding
  blanks stripped, so a value may itself contain ``:``. ``Output`` values (CLI output
  of the Command action) only lose the one space after the colon: indentation and
  trailing blanks of CLI tables are kept.
* Keys are case-insensitive on lookup; repeated keys (``ChanVariable``, ``Output``...)
  are all kept, in wire order.
* A message is an event if it carries an ``Event`` header and a response if it carries
  a ``Response`` header (the first of the two decides). Anything else is an error.
* In a legacy ``Response: Follows`` message (CLI output before Asterisk 14), lines
  without ``:`` are output lines, kept as ``Output`` headers; ``--END COMMAND--`` is
  dropped. Anywhere else a line without ``:`` is an error.
* Limits on line length, message size and header count. Breaking a rule raises
  :class:`AmiProtocolError` quoting the raw input (``repr``, truncated). The parser is
  then unusable: the connection must be dropped.
* Outgoing actions are ``Action``, ``ActionID`` then the fields in order; a sequence
  value becomes a repeated header (``Variable``). CR, LF or NUL in a key or value, or
  ``:`` in a key, is refused with :class:`ValueError` (header injection).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NoReturn

from telephony.ami.errors import AmiProtocolError

__all__ = [
    "AmiMessage",
    "AmiParser",
    "FieldValue",
    "MessageKind",
    "encode_action",
]

MessageKind = Literal["event", "response"]
FieldValue = str | int | Sequence[str]

GREETING_PREFIX = "Asterisk Call Manager"
_END_COMMAND = "--END COMMAND--"
_QUOTE_LIMIT = 200
_FORBIDDEN_IN_VALUE = ("\r", "\n", "\x00")


def _quote(raw: bytes | str) -> str:
    """``repr`` of untrusted input, truncated so that errors stay readable."""
    if len(raw) > _QUOTE_LIMIT:
        return f"{raw[:_QUOTE_LIMIT]!r}... ({len(raw)} bytes)"
    return repr(raw)


@dataclass(frozen=True, slots=True)
class AmiMessage:
    """One AMI event or response, headers in wire order."""

    kind: MessageKind
    name: str
    headers: tuple[tuple[str, str], ...]

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` (case-insensitive), or ``default``."""
        wanted = key.lower()
        for name, value in self.headers:
            if name.lower() == wanted:
                return value
        return default

    def getall(self, key: str) -> list[str]:
        """Every value of ``key`` (case-insensitive), in wire order."""
        wanted = key.lower()
        return [value for name, value in self.headers if name.lower() == wanted]

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.headers)

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    @property
    def is_event(self) -> bool:
        return self.kind == "event"

    @property
    def is_response(self) -> bool:
        return self.kind == "response"


class AmiParser:
    """Incremental AMI parser: ``feed`` bytes in any chunking, get whole messages."""

    def __init__(
        self,
        *,
        max_line_bytes: int = 64 * 1024,
        max_message_bytes: int = 4 * 1024 * 1024,
        max_headers: int = 50_000,
    ) -> None:
        self.max_line_bytes = max_line_bytes
        self.max_message_bytes = max_message_bytes
        self.max_headers = max_headers
        self.greeting: str | None = None
        self._buffer = bytearray()
        self._scanned = 0  # bytes of _buffer already known to hold no LF
        self._first_line = True
        self._lines: list[str] = []
        self._raw: list[bytes] = []
        self._size = 0
        self._error: AmiProtocolError | None = None

    @property
    def version(self) -> str | None:
        """The AMI version announced in the greeting (``"11.0.0"``), if any."""
        if self.greeting is None:
            return None
        return self.greeting.partition("/")[2] or None

    def feed(self, data: bytes) -> list[AmiMessage]:
        """Consume ``data``; return the messages it completes (possibly none)."""
        if self._error is not None:
            raise self._error
        self._buffer += data
        messages: list[AmiMessage] = []
        start = 0
        while True:
            end = self._buffer.find(b"\n", max(start, self._scanned))
            if end < 0:
                break
            raw = bytes(self._buffer[start:end])
            start = end + 1
            self._take_line(raw, messages)
        del self._buffer[:start]
        self._scanned = len(self._buffer)
        if len(self._buffer) > self.max_line_bytes:
            self._fail(f"line longer than {self.max_line_bytes} bytes", bytes(self._buffer))
        return messages

    # -- internals -----------------------------------------------------------------

    def _fail(self, reason: str, raw: bytes) -> NoReturn:
        self._error = AmiProtocolError(f"AMI protocol error: {reason}: {_quote(raw)}")
        raise self._error

    def _take_line(self, raw: bytes, messages: list[AmiMessage]) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if len(raw) > self.max_line_bytes:
            self._fail(f"line longer than {self.max_line_bytes} bytes", raw)
        line = raw.decode("utf-8", errors="replace")
        if self._first_line:
            self._first_line = False
            if line.startswith(GREETING_PREFIX):
                self.greeting = line.strip()
                return
        if not line.strip():
            if self._lines:
                messages.append(self._build())
            return
        self._size += len(raw) + 2
        if self._size > self.max_message_bytes:
            self._fail(
                f"message larger than {self.max_message_bytes} bytes", b"\r\n".join(self._raw)
            )
        if len(self._lines) >= self.max_headers:
            self._fail(f"message with more than {self.max_headers} lines", b"\r\n".join(self._raw))
        self._lines.append(line)
        self._raw.append(raw)

    def _build(self) -> AmiMessage:
        lines, raw = self._lines, b"\r\n".join(self._raw)
        self._lines, self._raw, self._size = [], [], 0
        pairs: list[tuple[str | None, str]] = []
        kind: MessageKind | None = None
        name = ""
        for line in lines:
            key, sep, value = line.partition(":")
            if not sep:
                pairs.append((None, line))
                continue
            key = key.strip()
            value = value.removeprefix(" ") if key.lower() == "output" else value.strip()
            if not key:
                self._fail("header line with an empty key", raw)
            pairs.append((key, value))
            if kind is None and key.lower() in ("event", "response"):
                kind = "event" if key.lower() == "event" else "response"
                name = value
        if kind is None:
            self._fail("message has neither an Event nor a Response header", raw)
        legacy_output = kind == "response" and name.lower() == "follows"
        headers: list[tuple[str, str]] = []
        for maybe_key, text in pairs:
            if maybe_key is not None:
                headers.append((maybe_key, text))
            elif not legacy_output:
                self._fail(f"header line without ':' ({_quote(text)})", raw)
            elif text.strip() != _END_COMMAND:
                headers.append(("Output", text.removesuffix(_END_COMMAND)))
        return AmiMessage(kind=kind, name=name, headers=tuple(headers))


def _check_header(key: str, value: str) -> None:
    if not key or ":" in key or any(c in key for c in _FORBIDDEN_IN_VALUE) or key != key.strip():
        raise ValueError(f"invalid AMI header name: {key!r}")
    if any(c in value for c in _FORBIDDEN_IN_VALUE):
        raise ValueError(f"CR, LF or NUL in the value of AMI header {key!r}: {_quote(value)}")


def _values(key: str, value: FieldValue) -> list[str]:
    if isinstance(value, bool):
        raise TypeError(f"AMI header {key!r}: pass 'true'/'false' as a string, not a bool")
    if isinstance(value, (str, int)):
        return [str(value)]
    values = list(value)
    for item in values:
        if not isinstance(item, str):
            raise TypeError(f"AMI header {key!r}: sequence items must be str, got {item!r}")
    return values


def encode_action(name: str, action_id: str, fields: Mapping[str, FieldValue]) -> bytes:
    """Serialise one action; sequence values become repeated headers."""
    lines = [("Action", name), ("ActionID", action_id)]
    for key, value in fields.items():
        if key.lower() in ("action", "actionid"):
            raise ValueError(f"AMI header {key!r} is set by encode_action itself")
        lines.extend((key, item) for item in _values(key, value))
    for key, value in lines:
        _check_header(key, value)
    if not name.strip() or not action_id.strip():
        raise ValueError(f"empty AMI action name or ActionID: {name!r}, {action_id!r}")
    return "".join(f"{key}: {value}\r\n" for key, value in lines).encode("utf-8") + b"\r\n"
