"""Tier 1: AGI transcripts through the pure parser, responses, errors and encoding."""

from __future__ import annotations

import re
import time

import pytest

from telephony.agi import (
    AgiDeadChannel,
    AgiEnvironment,
    AgiError,
    AgiEvent,
    AgiInvalidCommand,
    AgiParser,
    AgiProtocolError,
    AgiResponse,
    AgiUsageError,
    HangupSignal,
    SpeechResult,
    check_response,
    encode_command,
    parse_response,
    speech_results,
)

ENVIRONMENT = (
    b"agi_network: yes\n"
    b"agi_network_script: hotline?lang=ru&campaign=42\n"
    b"agi_request: agi://127.0.0.1:4573/hotline?lang=ru&campaign=42\n"
    b"agi_channel: PJSIP/100-00000007\n"
    b"agi_language: ru\n"
    b"agi_type: PJSIP\n"
    b"agi_uniqueid: 1732370000.7\n"
    b"agi_version: 22.1.0\n"
    b"agi_callerid: 79001234567\n"
    b"agi_calleridname: \xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\n"
    b"agi_callingpres: 0\n"
    b"agi_dnid: 88005553535\n"
    b"agi_rdnis: unknown\n"
    b"agi_context: from-trunk\n"
    b"agi_extension: 88005553535\n"
    b"agi_priority: 3\n"
    b"agi_enhanced: 0.0\n"
    b"agi_accountcode: \n"
    b"agi_threadid: 140000000000000\n"
    b"agi_arg_1: first arg\n"
    b"agi_arg_2: \n"
    b"agi_arg_3: 3\n"
    b"\n"
)

REPLIES = (
    b"200 result=0\n"
    b"200 result=49 endpos=12345\n"
    b"200 result=1 (timeout)\n"
    b"200 result= (timeout)\n"
    b"200 result=1 (value with spaces (and parens))\n"
    b"HANGUP\n"
    b"200 result=-1 endpos=0\n"
    b"510 Invalid or unknown command\n"
    b"511 Command Not Permitted on a dead channel or intercept routine\n"
    b"520-Invalid command syntax.  Proper usage follows:\n"
    b" Usage: STREAM FILE <filename> <escape_digits> [sample offset]\n"
    b"   Send the given file, allowing playback to be interrupted.\n"
    b"520 End of proper usage.\n"
    b"200 result=-1 Gosub label not found\n"
)


def feed_in_chunks(data: bytes, size: int) -> list[AgiEvent]:
    parser = AgiParser()
    events: list[AgiEvent] = []
    for start in range(0, len(data), size):
        events.extend(parser.feed(data[start : start + size]))
    return events


def check_events(events: list[AgiEvent]) -> None:
    env, *replies = events
    assert isinstance(env, AgiEnvironment)
    assert env.script == "hotline"
    assert env.params == {"lang": "ru", "campaign": "42"}
    assert env.channel == "PJSIP/100-00000007"
    assert env.uniqueid == "1732370000.7"
    assert env.callerid == "79001234567"
    assert env.calleridname == "Иван"
    assert env.dnid == env.extension == "88005553535"
    assert env.context == "from-trunk"
    assert env.args == ["first arg", "", "3"]
    assert env["agi_accountcode"] == ""
    assert env.get("agi_missing") is None
    assert replies == [
        AgiResponse(200, "0"),
        AgiResponse(200, "49", endpos=12345, fields=(("endpos", "12345"),)),
        AgiResponse(200, "1", "timeout"),
        AgiResponse(200, "", "timeout"),
        AgiResponse(200, "1", "value with spaces (and parens)"),
        HangupSignal(),
        AgiResponse(200, "-1", endpos=0, fields=(("endpos", "0"),)),
        AgiResponse(510, "", "Invalid or unknown command"),
        AgiResponse(511, "", "Command Not Permitted on a dead channel or intercept routine"),
        AgiResponse(
            520,
            "",
            "Invalid command syntax.  Proper usage follows:\n"
            " Usage: STREAM FILE <filename> <escape_digits> [sample offset]\n"
            "   Send the given file, allowing playback to be interrupted.",
        ),
        AgiResponse(200, "-1", "Gosub label not found"),
    ]


@pytest.mark.parametrize("size", [*range(1, 40), 10_000])
def test_transcript_in_every_chunk_size(size: int) -> None:
    check_events(feed_in_chunks(ENVIRONMENT + REPLIES, size))


def test_crlf_is_tolerated() -> None:
    check_events(feed_in_chunks((ENVIRONMENT + REPLIES).replace(b"\n", b"\r\n"), 5))


def test_environment_mapping_is_frozen_and_hashable() -> None:
    (env,) = AgiParser().feed(ENVIRONMENT)
    assert isinstance(env, AgiEnvironment)
    assert len(env) == 22 and "agi_channel" in env
    assert hash(env) == hash(AgiParser().feed(ENVIRONMENT)[0])
    with pytest.raises(AttributeError):
        env.variables = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("request_url", "script", "params"),
    [
        ("agi://127.0.0.1:4573/hotline?x=1", "hotline", {"x": "1"}),
        ("agi://127.0.0.1/ivr/menu/", "ivr/menu", {}),
        ("agi://[::1]:4573/callback?n=1&n=2&empty=", "callback", {"n": "1", "empty": ""}),
        ("hotline.py", "hotline.py", {}),
    ],
)
def test_script_and_params(request_url: str, script: str, params: dict[str, str]) -> None:
    env = AgiEnvironment((("agi_request", request_url),))
    assert env.script == script
    assert env.params == params


def test_bad_environment_line_is_quoted() -> None:
    with pytest.raises(AgiProtocolError, match=r"GET / HTTP/1\.1"):
        AgiParser().feed(b"GET / HTTP/1.1\n\n")


def test_bad_reply_line_is_quoted_and_parser_stays_failed() -> None:
    parser = AgiParser()
    parser.feed(ENVIRONMENT)
    with pytest.raises(AgiProtocolError, match="'garbage'"):
        parser.feed(b"garbage\n")
    with pytest.raises(AgiProtocolError):
        parser.feed(b"200 result=1\n")


def test_limits() -> None:
    with pytest.raises(AgiProtocolError, match="line longer"):
        AgiParser(max_line_bytes=50).feed(b"agi_x: " + b"y" * 100)
    with pytest.raises(AgiProtocolError, match="environment longer"):
        AgiParser(max_env_lines=3).feed(b"agi_a: 1\n" * 5)
    parser = AgiParser(max_reply_lines=3)
    parser.feed(ENVIRONMENT)
    with pytest.raises(AgiProtocolError, match="multi-line reply longer"):
        parser.feed(b"520-Usage\n" + b" line\n" * 5)


def test_parse_response_single_lines() -> None:
    assert parse_response("200 result=1") == AgiResponse(200, "1")
    assert parse_response(
        "520 Invalid command syntax.  Proper usage not available."
    ) == AgiResponse(520, "", "Invalid command syntax.  Proper usage not available.")
    with pytest.raises(AgiProtocolError):
        parse_response("200 oops")
    with pytest.raises(AgiProtocolError):
        parse_response("HANGUP")


@pytest.mark.parametrize(
    ("code", "exception"),
    [(510, AgiInvalidCommand), (511, AgiDeadChannel), (520, AgiUsageError), (599, AgiError)],
)
def test_check_response_maps_codes(code: int, exception: type[AgiError]) -> None:
    response = AgiResponse(code, "", "text")
    with pytest.raises(exception) as info:
        check_response(response)
    assert info.value.response is response
    assert check_response(AgiResponse(200, "1")) == AgiResponse(200, "1")


def test_encode_command_quotes_arguments() -> None:
    assert encode_command("ANSWER") == b"ANSWER\n"
    assert encode_command("stream file", "custom/hello", "") == b'STREAM FILE custom/hello ""\n'
    assert encode_command("GET DATA", "beep", 5000, 4) == b"GET DATA beep 5000 4\n"
    quoted = b'VERBOSE "say \\"hi\\" C:\\\\x" 1\n'
    assert encode_command("VERBOSE", 'say "hi" C:\\x', 1) == quoted
    assert encode_command("SET VARIABLE", "NAME", "Иван") == "SET VARIABLE NAME Иван\n".encode()


@pytest.mark.parametrize(
    "parts",
    [
        ("VERBOSE", "a\nANSWER"),
        ("VERBOSE", "a\r"),
        ("VERBOSE", "\x00"),
        ("STREAM  FILE",),
        ("EXEC;",),
        ("",),
    ],
)
def test_encode_command_refuses_injection(parts: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        encode_command(*parts)


# -- what Asterisk 22 sends (res_agi.c, app_stack.c, res_speech) ---------------------------


def test_a_long_hostile_reply_line_is_parsed_in_linear_time() -> None:
    """The old regular expression took about 2 s on this 20 kB line (quadratic)."""
    line = "200 result=1 (" + ") a=b" * 4000 + " !"
    started = time.perf_counter()
    with pytest.raises(AgiProtocolError, match=r"after the data"):
        parse_response(line)
    assert time.perf_counter() - started < 0.1


def test_speech_recognize_keeps_every_field() -> None:
    line = (
        '200 result=1 (speech) endpos=0 results=2 score0=969 text0="показания двенадцать (12)"'
        ' grammar0=digits score1=420 text1="he said "hi" there" grammar1=yesno'
    )
    response = parse_response(line)
    assert response.data == "speech" and response.endpos == 0
    assert response.fields == (
        ("endpos", "0"),
        ("results", "2"),
        ("score0", "969"),
        ("text0", "показания двенадцать (12)"),
        ("grammar0", "digits"),
        ("score1", "420"),
        ("text1", 'he said "hi" there'),
        ("grammar1", "yesno"),
    )
    assert speech_results(response) == [
        SpeechResult(969, "показания двенадцать (12)", "digits"),
        SpeechResult(420, 'he said "hi" there', "yesno"),
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("200 result=1 (digit) digit=5 endpos=1200",
         AgiResponse(200, "1", "digit", 1200, (("digit", "5"), ("endpos", "1200")))),
        ("200 result=1 (timeout) endpos=8000",
         AgiResponse(200, "1", "timeout", 8000, (("endpos", "8000"),))),
        ("200 result=0 endpos=0", AgiResponse(200, "0", None, 0, (("endpos", "0"),))),
        ("200 result=1 (speech) endpos=0 results=0 ",
         AgiResponse(200, "1", "speech", 0, (("endpos", "0"), ("results", "0")))),
        ("200 result=1 (a) b=c)", AgiResponse(200, "1", "a) b=c")),
        ("200 result=1 ()", AgiResponse(200, "1", "")),
        ("200 result=35 (dtmf) endpos=400",
         AgiResponse(200, "35", "dtmf", 400, (("endpos", "400"),))),
        # RECORD FILE and SPEECH RECOGNIZE endings (res_agi.c)
        ("200 result=-1 (hangup) endpos=1600",
         AgiResponse(200, "-1", "hangup", 1600, (("endpos", "1600"),))),
        ("200 result=0 (randomerror) endpos=0",
         AgiResponse(200, "0", "randomerror", 0, (("endpos", "0"),))),
        ("200 result=-1 (writefile)", AgiResponse(200, "-1", "writefile")),
        ("200 result=1 (waitfor) endpos=3200",
         AgiResponse(200, "1", "waitfor", 3200, (("endpos", "3200"),))),
        ("200 result=1 (digit) digit=# endpos=0",
         AgiResponse(200, "1", "digit", 0, (("digit", "#"), ("endpos", "0")))),
        ("100 result=0 Trying...", AgiResponse(100, "0", "Trying...")),
        ("200 result=0 Gosub complete", AgiResponse(200, "0", "Gosub complete")),
        ("503 result=-2 Memory allocation failure",
         AgiResponse(503, "-2", "Memory allocation failure")),
    ],
)
def test_reply_shapes(line: str, expected: AgiResponse) -> None:
    assert parse_response(line) == expected


def test_speech_results_of_other_replies_are_empty() -> None:
    assert speech_results(parse_response("200 result=1 (timeout) endpos=0")) == []
    with pytest.raises(AgiProtocolError):
        speech_results(parse_response("200 result=1 (speech) endpos=0 results=1"))


def test_provisional_reply_is_marked() -> None:
    parser = AgiParser()
    parser.feed(ENVIRONMENT)
    trying, final = parser.feed(b"100 result=0 Trying...\n200 result=0 Gosub complete\n")
    assert isinstance(trying, AgiResponse) and trying.provisional
    assert isinstance(final, AgiResponse) and not final.provisional


@pytest.mark.parametrize(
    "line",
    ["200 result=1 (open", "200 result=1 (x) endpos=abc", "20", "2000 result=1", "²00 result=1",
     "200 result=1 (x) =y", '200 result=1 (x) t="unterminated'],
)
def test_malformed_replies_are_protocol_errors(line: str) -> None:
    with pytest.raises(AgiProtocolError, match=re.escape(repr(line)[:40])):
        parse_response(line)


def test_protocol_error_quotes_truncated_input() -> None:
    with pytest.raises(AgiProtocolError) as info:
        parse_response("garbage " * 1000)
    message = str(info.value)
    assert "garbage garbage" in message and "(8000 bytes)" in message and len(message) < 400
