"""Tier 1: AMI transcripts fed through the pure parser, in every chunking."""

from __future__ import annotations

import pytest

from telephony.ami import AmiMessage, AmiParser, AmiProtocolError, encode_action

# A session as Asterisk 22 writes it: greeting, login, an event, Ping, a Command
# whose output comes as repeated Output headers, and a CoreShowChannels list.
TRANSCRIPT = (
    b"Asterisk Call Manager/11.0.0\r\n"
    b"Response: Success\r\n"
    b"ActionID: a-1\r\n"
    b"Message: Authentication accepted\r\n"
    b"\r\n"
    b"Event: FullyBooted\r\n"
    b"Privilege: system,all\r\n"
    b"Uptime: 12\r\n"
    b"LastReload: 12\r\n"
    b"Status: Fully Booted\r\n"
    b"\r\n"
    b"Response: Success\r\n"
    b"ActionID: a-2\r\n"
    b"Ping: Pong\r\n"
    b"Timestamp: 1732370000.123456\r\n"
    b"\r\n"
    b"Event: Newchannel\r\n"
    b"Privilege: call,all\r\n"
    b"Channel: PJSIP/100-00000001\r\n"
    b"CallerIDName: \xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\r\n"
    b"Exten: 200\r\n"
    b"Uniqueid: 1732370000.1\r\n"
    b"Linkedid: 1732370000.1\r\n"
    b"ChanVariable: CDR(src)=100\r\n"
    b"ChanVariable: URL=http://example.org:8080/x\r\n"
    b"\r\n"
    b"Response: Success\r\n"
    b"ActionID: a-3\r\n"
    b"Message: Command output follows\r\n"
    b"Output: Channel              Location             State   Application(Data)\r\n"
    b"Output:  Endpoint:  100/100   Not in use    0 of inf\r\n"
    b"Output: 0 active channels\r\n"
    b"Output: \r\n"
    b"\r\n"
    b"Response: Success\r\n"
    b"ActionID: a-4\r\n"
    b"EventList: start\r\n"
    b"Message: Channels will follow\r\n"
    b"\r\n"
    b"Event: CoreShowChannel\r\n"
    b"ActionID: a-4\r\n"
    b"Channel: PJSIP/100-00000001\r\n"
    b"\r\n"
    b"Event: CoreShowChannelsComplete\r\n"
    b"ActionID: a-4\r\n"
    b"EventList: Complete\r\n"
    b"ListItems: 1\r\n"
    b"\r\n"
    b"Response: Goodbye\r\n"
    b"ActionID: a-5\r\n"
    b"Message: Thanks for all the fish.\r\n"
    b"\r\n"
)


def parse_in_chunks(data: bytes, size: int) -> tuple[AmiParser, list[AmiMessage]]:
    parser = AmiParser()
    messages: list[AmiMessage] = []
    for start in range(0, len(data), size):
        messages.extend(parser.feed(data[start : start + size]))
    return parser, messages


def check_transcript(parser: AmiParser, messages: list[AmiMessage]) -> None:
    assert parser.greeting == "Asterisk Call Manager/11.0.0"
    assert parser.version == "11.0.0"
    assert [(m.kind, m.name) for m in messages] == [
        ("response", "Success"),
        ("event", "FullyBooted"),
        ("response", "Success"),
        ("event", "Newchannel"),
        ("response", "Success"),
        ("response", "Success"),
        ("event", "CoreShowChannel"),
        ("event", "CoreShowChannelsComplete"),
        ("response", "Goodbye"),
    ]
    login, booted, ping, newchannel, command, *_ = messages
    assert login.action_id == "a-1"
    assert login["Message"] == "Authentication accepted"
    assert booted.action_id is None
    assert ping.get("ping") == "Pong"
    assert newchannel["CallerIDName"] == "Иван"
    assert newchannel.getall("chanvariable") == ["CDR(src)=100", "URL=http://example.org:8080/x"]
    assert command.getall("Output") == [
        "Channel              Location             State   Application(Data)",
        " Endpoint:  100/100   Not in use    0 of inf",
        "0 active channels",
        "",
    ]


def test_transcript_in_one_piece() -> None:
    check_transcript(*parse_in_chunks(TRANSCRIPT, len(TRANSCRIPT)))


@pytest.mark.parametrize("size", range(1, 64))
def test_transcript_in_every_chunk_size(size: int) -> None:
    check_transcript(*parse_in_chunks(TRANSCRIPT, size))


def test_bare_lf_line_endings_are_tolerated() -> None:
    data = TRANSCRIPT.replace(b"\r\n", b"\n")
    for size in (1, 2, 3, 7, len(data)):
        check_transcript(*parse_in_chunks(data, size))


def test_message_accessors() -> None:
    (message,) = AmiParser().feed(b"Event: Hangup\r\nChannel: PJSIP/1\r\nCause: 16\r\n\r\n")
    assert message.is_event and not message.is_response
    assert message["channel"] == "PJSIP/1"
    assert "CAUSE" in message
    assert message.get("Missing") is None
    assert message.get("Missing", "x") == "x"
    assert message.getall("Missing") == []
    with pytest.raises(KeyError):
        message["Missing"]
    assert next(iter(message)) == ("Event", "Hangup")


def test_value_keeps_colons_and_empty_values() -> None:
    (message,) = AmiParser().feed(b"Event: VarSet\r\nValue: a: b:c\r\nAccountCode:\r\n\r\n")
    assert message["Value"] == "a: b:c"
    assert message["AccountCode"] == ""


def test_extra_blank_lines_between_messages_are_skipped() -> None:
    messages = AmiParser().feed(b"\r\n\r\nEvent: A\r\n\r\n\r\n\r\nEvent: B\r\n\r\n")
    assert [m.name for m in messages] == ["A", "B"]


def test_incomplete_message_is_kept_until_blank_line() -> None:
    parser = AmiParser()
    assert parser.feed(b"Event: A\r\nX: 1\r\n") == []
    (message,) = parser.feed(b"\r\n")
    assert message["X"] == "1"


def test_legacy_follows_response() -> None:
    data = (
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 9\r\n"
        b"No such command 'foo'\n--END COMMAND--\r\n\r\n"
    )
    (message,) = AmiParser().feed(data)
    assert message.name == "Follows"
    assert message.getall("Output") == ["No such command 'foo'"]


def test_line_without_colon_is_an_error_quoting_input() -> None:
    with pytest.raises(AmiProtocolError, match=r"garbage line"):
        AmiParser().feed(b"Event: A\r\ngarbage line\r\n\r\n")


def test_message_without_event_or_response_is_an_error() -> None:
    with pytest.raises(AmiProtocolError, match=r"Foo: bar"):
        AmiParser().feed(b"Foo: bar\r\n\r\n")


def test_oversize_message_raises_and_quotes_truncated_input() -> None:
    parser = AmiParser(max_message_bytes=1000)
    data = b"Event: Flood\r\n" + b"".join(
        b"Output: %04d xxxxxxxxxxxxxxxx\r\n" % i for i in range(200)
    )
    with pytest.raises(AmiProtocolError) as info:
        parser.feed(data)
    text = str(info.value)
    assert "larger than 1000 bytes" in text
    assert "Event: Flood" in text
    assert len(text) < 400
    with pytest.raises(AmiProtocolError):
        parser.feed(b"\r\n")  # the parser stays failed: the connection must be dropped


def test_too_many_headers() -> None:
    parser = AmiParser(max_headers=10)
    with pytest.raises(AmiProtocolError, match="more than 10 lines"):
        parser.feed(b"Event: X\r\n" + b"A: 1\r\n" * 20)


def test_endless_line_is_refused_before_newline() -> None:
    parser = AmiParser(max_line_bytes=100)
    parser.feed(b"Event: X\r\nA: " + b"y" * 50)
    with pytest.raises(AmiProtocolError, match="line longer than 100 bytes"):
        parser.feed(b"y" * 100)


def test_greeting_only_on_first_line() -> None:
    parser = AmiParser()
    (message,) = parser.feed(b"Event: A\r\nText: Asterisk Call Manager/1\r\n\r\n")
    assert parser.greeting is None
    assert message["Text"] == "Asterisk Call Manager/1"


def test_encode_action_with_repeated_fields() -> None:
    data = encode_action(
        "Originate",
        "id-7",
        {"Channel": "PJSIP/100", "Timeout": 30000, "Variable": ["A=1", "B=x:y"]},
    )
    assert data == (
        b"Action: Originate\r\nActionID: id-7\r\nChannel: PJSIP/100\r\nTimeout: 30000\r\n"
        b"Variable: A=1\r\nVariable: B=x:y\r\n\r\n"
    )
    (parsed,) = AmiParser().feed(data.replace(b"Action:", b"Event:", 1))
    assert parsed.getall("Variable") == ["A=1", "B=x:y"]


@pytest.mark.parametrize(
    "fields",
    [
        {"Channel": "PJSIP/1\r\nAction: Hangup"},
        {"Channel": "x\n"},
        {"Variable": ["A=1", "B=2\r\nAction: Command"]},
        {"Bad\r\nKey": "x"},
        {"Bad: Key": "x"},
        {"ActionID": "mine"},
    ],
)
def test_encode_action_refuses_header_injection(fields: dict[str, str | list[str]]) -> None:
    with pytest.raises(ValueError):
        encode_action("Status", "id-1", fields)


def test_encode_action_refuses_bad_types() -> None:
    with pytest.raises(TypeError):
        encode_action("Originate", "id", {"Async": True})
    with pytest.raises(ValueError):
        encode_action("Ping\r\n", "id", {})
