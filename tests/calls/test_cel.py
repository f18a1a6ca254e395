"""The PBX's own account of calls (CEL JSON lines), parsed and summarised (pure: no files read
by the code under test). `data/cel_first_slice.jsonl` was written by the project's real
Asterisk 22 during tests/e2e/test_first_slice.py: two hotline calls and three calls to a test
callee (answered, busy, no answer)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from calls.cel import INTERRUPTED_TEXT, LOST_END_TEXT, parse, summarise

CAPTURE = (Path(__file__).parent / "data" / "cel_first_slice.jsonl").read_bytes()
HOTLINE = "testpbx1-1796174260.0"


def at(stamp: str) -> datetime:
    return datetime.fromtimestamp(float(stamp), tz=UTC)


def test_the_real_capture_gives_every_call_with_the_pbx_times() -> None:
    events, end, bad = parse(CAPTURE)
    assert (len(events), end, bad) == (27, len(CAPTURE), 0)
    found = summarise(events, end, live=set(), pbx_started_at=None)
    assert (found.mark, found.waiting) == (len(CAPTURE), 0)
    calls = {c.linkedid: c for c in found.calls}
    assert len(calls) == 5

    hotline = calls[HOTLINE]
    assert hotline.direction == "inbound"
    assert (hotline.caller_number, hotline.called_number, hotline.channel) == (
        "79990210001", "8800", "PJSIP/trunk-00000000")
    assert hotline.started_at == at("1796174260.459111")
    assert hotline.answered_at == at("1796174260.461232")
    assert hotline.recording_path == f"2026/12/02/{HOTLINE}.wav"
    assert hotline.disclosure_at == at("1796174266.971394")
    assert hotline.ended_at == at("1796174281.882391")
    assert (hotline.outcome, hotline.cause, hotline.cause_text) == ("completed", 16, "Normal Clearing")

    outcomes = {c.linkedid: (c.outcome, c.cause) for c in found.calls if c.linkedid != HOTLINE}
    assert outcomes == {
        "testpbx1-1796174281.1": ("completed", 16),
        "testpbx1-1796174289.2": ("busy", 17),
        "testpbx1-1796174290.3": ("unanswered", 19),
        "testpbx1-1796174294.4": ("completed", 16),
    }
    assert calls["testpbx1-1796174289.2"].recording_path is None


def test_a_line_being_written_waits_and_bad_lines_are_counted() -> None:
    cut = CAPTURE.index(b"\n") + 1 + 40  # the second line half written
    events, end, bad = parse(CAPTURE[:cut])
    assert (len(events), end, bad) == (1, CAPTURE.index(b"\n") + 1, 0)
    events, end, bad = parse(b"not json\n[1]\n{}\n" + CAPTURE, base=100)
    assert (len(events), bad) == (27, 3)
    assert events[0].offset == 100 + len(b"not json\n[1]\n{}\n")


def _upto(kind: str, linkedid: str = HOTLINE) -> bytes:
    """The capture up to and including the first `kind` line of `linkedid`."""
    out = []
    for line in CAPTURE.splitlines(keepends=True):
        out.append(line)
        doc = json.loads(line)
        if doc["linkedid"] == linkedid and doc["eventtype"] == kind:
            break
    return b"".join(out)


def test_a_live_call_is_started_and_holds_the_mark() -> None:
    data = _upto("HotlineDisclosure")
    events, end, _ = parse(data)
    found = summarise(events, end, live={HOTLINE}, pbx_started_at=None)
    (call,) = found.calls
    assert call.ended_at is None and call.outcome is None
    assert call.recording_path and call.disclosure_at and call.answered_at
    assert (found.mark, found.waiting) == (0, 1)  # read again from its first line


def test_a_call_cut_by_a_pbx_restart_is_interrupted_at_its_last_event() -> None:
    data = _upto("HotlineDisclosure")
    events, end, _ = parse(data)
    restarted = events[-1].at + timedelta(seconds=30)
    found = summarise(events, end, live=set(), pbx_started_at=restarted)
    (call,) = found.calls
    assert (call.outcome, call.cause_text, call.ended_at) == ("interrupted", INTERRUPTED_TEXT, events[-1].at)
    assert (found.mark, found.waiting) == (end, 0)


def test_a_call_gone_but_not_ended_in_the_file_waits_for_the_next_read() -> None:
    data = _upto("HANGUP")  # its LINKEDID_END is not written yet
    events, end, _ = parse(data)
    found = summarise(events, end, live=set(), pbx_started_at=events[0].at - timedelta(hours=1))
    assert found.calls == () and (found.mark, found.waiting) == (0, 1)


def test_reading_from_the_mark_gives_the_rest_and_skips_tails_of_earlier_calls() -> None:
    first_two = _upto("CHAN_START", "testpbx1-1796174281.1")
    events, end, _ = parse(first_two)
    found = summarise(events, end, live={"testpbx1-1796174281.1"}, pbx_started_at=None)
    assert [c.linkedid for c in found.calls] == [HOTLINE, "testpbx1-1796174281.1"]
    mark = found.mark
    assert mark == len(first_two) - len(first_two.splitlines(keepends=True)[-1])
    events, end, _ = parse(CAPTURE[mark:], base=mark)
    rest = summarise(events, end, live=set(), pbx_started_at=None)
    assert rest.calls[0].linkedid == "testpbx1-1796174281.1"
    assert HOTLINE not in [c.linkedid for c in rest.calls]
    assert rest.mark == len(CAPTURE)


def test_a_call_whose_end_was_lost_is_closed_after_an_hour_so_the_mark_moves_on() -> None:
    data = _upto("HotlineDisclosure")  # no end, not live, the PBX's start unknown
    events, end, _ = parse(data)
    soon = summarise(events, end, live=set(), pbx_started_at=None, now=events[-1].at + timedelta(minutes=5))
    assert soon.calls == () and soon.mark == 0
    later = summarise(events, end, live=set(), pbx_started_at=None, now=events[-1].at + timedelta(hours=2))
    (call,) = later.calls
    assert (call.outcome, call.cause_text, call.ended_at) == ("interrupted", LOST_END_TEXT, events[-1].at)
    assert later.mark == end
    still_live = summarise(events, end, live={HOTLINE}, pbx_started_at=None, now=events[-1].at + timedelta(hours=2))
    assert still_live.calls[0].ended_at is None and still_live.mark == 0  # a long call, still up


def test_callbacks_and_a_hold_call_interleaved_as_the_real_pbx_wrote_them() -> None:
    """`data/cel_callbacks.jsonl`: four callback orders (operator first, then the customer on
    the trunk, both legs one call) and a hold call that lasted through two of them, written by
    the real PBX during tests/e2e/test_callbacks.py and test_faults.py."""
    data = (Path(__file__).parent / "data" / "cel_callbacks.jsonl").read_bytes()
    events, end, bad = parse(data)
    assert (len(events), bad) == (49, 0)
    found = summarise(events, end, live=set(), pbx_started_at=None)
    calls = {c.linkedid: c for c in found.calls}
    callbacks = [c for c in found.calls if "-cb" in c.linkedid]
    assert len(callbacks) == 4 and len(calls) == 5
    for call in callbacks:
        assert call.direction == "outbound" and call.channel.startswith("PJSIP/operator1-")
        assert call.recording_path == f"2026/12/02/{call.linkedid}.wav"
        assert call.started_at < call.answered_at < call.disclosure_at < call.ended_at  # type: ignore[operator]
        assert (call.outcome, call.cause) == ("completed", 16)
    hold = calls["testpbx1-1796175627.12"]
    assert (hold.direction, hold.called_number, hold.outcome, hold.cause) == ("internal", "8802", "completed", None)
    assert hold.recording_path is None and hold.disclosure_at is None

    # Read while the hold call was up: the callbacks that ended meanwhile are imported, the
    # mark stays at the hold call's first line, and the next read imports the rest.
    lines = data.splitlines(keepends=True)
    cb3_end = next(i for i, line in enumerate(lines)
                   if b'"LINKEDID_END"' in line and b"testpbx1-cb3-ec8148534350" in line)
    cut = len(b"".join(lines[:cb3_end + 1]))
    events, end, _ = parse(data[:cut])
    first = summarise(events, end, live={"testpbx1-1796175627.12"}, pbx_started_at=None)
    hold_start = next(e.offset for e in events if e.linkedid == "testpbx1-1796175627.12")
    assert first.mark == hold_start and first.waiting == 1
    events, end, _ = parse(data[first.mark:], base=first.mark)
    rest = summarise(events, end, live=set(), pbx_started_at=None)
    assert "testpbx1-1796175627.12" in {c.linkedid for c in rest.calls} and rest.mark == len(data)
