"""Property tests: whatever a peer sends, the parsers return events or raise their own protocol
error, never anything else, and never take more than linear time on a line."""

from __future__ import annotations

import time
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.agi import AgiParser, AgiProtocolError, AgiResponse, parse_response
from telephony.ami import AmiParser, AmiProtocolError
from telephony.audiosocket import AudioSocketParser, AudioSocketProtocolError

FUZZ = settings(
    max_examples=150,
    database=None,  # nothing written into the checkout
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
)
ENVIRONMENT = b"agi_network: yes\nagi_request: agi://127.0.0.1/hotline\n\n"
# The characters the reply grammar gives a meaning to, plus a few ordinary ones.
REPLY_ALPHABET = '() ="-.\\\t\r01259abrstuleqdxyz\u0418'
reply_text = st.text(alphabet=REPLY_ALPHABET, max_size=80)
chunk_sizes = st.integers(min_value=1, max_value=64)


def feed_in_chunks(parser, data: bytes, size: int) -> list[object]:  # type: ignore[no-untyped-def]
    events: list[object] = []
    for start in range(0, len(data), size):
        events.extend(parser.feed(data[start : start + size]))
    return events


@FUZZ
@given(st.binary(max_size=2000), chunk_sizes)
def test_agi_parser_on_arbitrary_bytes(data: bytes, size: int) -> None:
    parser = AgiParser(max_line_bytes=512, max_env_lines=16, max_reply_lines=16)
    try:
        feed_in_chunks(parser, ENVIRONMENT + data, size)
    except AgiProtocolError:
        pass


@FUZZ
@given(st.lists(st.one_of(reply_text, st.sampled_from(["HANGUP", "520-Usage", ""])),
                max_size=20), chunk_sizes)
def test_agi_parser_on_reply_like_lines(lines: list[str], size: int) -> None:
    data = ENVIRONMENT + "".join(f"{code} {line}\n" for code, line in zip(
        [200, 100, 510, 520, 200] * 4, lines, strict=False)).encode()
    try:
        for event in feed_in_chunks(AgiParser(), data, size)[1:]:
            assert not isinstance(event, AgiResponse) or event.code in (100, 200, 510, 520)
    except AgiProtocolError:
        pass


@FUZZ
@given(reply_text, st.sampled_from(["200 result=", "200 result=1 (", "200 result=1 (x) ", "100 "]))
def test_parse_response_raises_only_its_protocol_error(text: str, prefix: str) -> None:
    try:
        response = parse_response(prefix + text)
    except AgiProtocolError as exc:
        assert "AGI protocol error" in str(exc)
    else:
        assert response.code in (100, 200)


@FUZZ
@given(st.text(alphabet='() ="a1=', min_size=1, max_size=12), st.integers(1000, 5000))
def test_a_long_line_is_parsed_in_linear_time(pattern: str, repeat: int) -> None:
    line = "200 result=1 (" + pattern * repeat + " !"
    started = time.perf_counter()
    try:
        parse_response(line)
    except AgiProtocolError:
        pass
    # 60 kB at most; quadratic parsing of such a line takes seconds.
    assert time.perf_counter() - started < 0.5


@FUZZ
@given(st.lists(st.tuples(st.text(alphabet="abcdefgh_0123", min_size=1, max_size=8),
                          st.text(alphabet="abc ()=\"1", max_size=12)), max_size=6))
def test_pairs_written_as_asterisk_writes_them_are_read_back(pairs: list[tuple[str, str]]) -> None:
    """``key="value"`` as in SPEECH RECOGNIZE's text0: every pair comes back, unless a value
    holds the sequence that ends a quoted value (a quote followed by `` key=``)."""
    written = " ".join(f'{key}="{value}"' for key, value in pairs)
    try:
        response = parse_response(f"200 result=1 (speech) {written}".rstrip())
    except AgiProtocolError:
        return
    ambiguous = any('"' in value or value.endswith(" ") for _, value in pairs)
    if not ambiguous:
        assert response.fields == tuple(pairs)


@FUZZ
@given(st.binary(max_size=3000), chunk_sizes)
def test_ami_parser_on_arbitrary_bytes(data: bytes, size: int) -> None:
    parser = AmiParser(max_line_bytes=512, max_message_bytes=4096, max_headers=64)
    try:
        feed_in_chunks(parser, data, size)
    except AmiProtocolError:
        pass


@FUZZ
@given(st.lists(st.tuples(st.text(alphabet="EventRspoA:- \r", max_size=12),
                          st.text(alphabet="ab: \t\r-", max_size=12)), max_size=30), chunk_sizes)
def test_ami_parser_on_header_like_lines(headers: list[tuple[str, str]], size: int) -> None:
    data = "".join(f"{key}: {value}\r\n" if key else "\r\n" for key, value in headers).encode()
    try:
        feed_in_chunks(AmiParser(), b"Asterisk Call Manager/11.0.0\r\n" + data + b"\r\n", size)
    except AmiProtocolError:
        pass


@FUZZ
@given(st.binary(max_size=3000), chunk_sizes)
def test_audiosocket_parser_on_arbitrary_bytes(data: bytes, size: int) -> None:
    try:
        feed_in_chunks(AudioSocketParser(max_payload=1024), data, size)
    except AudioSocketProtocolError:
        pass
