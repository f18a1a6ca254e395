"""The PBX's own account of calls (CEL) merged into the call records, on SQLite and PostgreSQL:
missed calls created with the PBX's times, known calls completed (never duplicated), a second
import changes nothing, and one overlong CallerID spoils no other row."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from calls.handlers import cel_reader
from calls.models import Call, CallEvent, CallOutcome, CelImportMark
from calls.registry import DISCONNECTED_TEXT, CallEnded, CallStarted
from calls.service import CallStore

CAPTURE = (Path(__file__).parents[1] / "calls" / "data" / "cel_first_slice.jsonl").read_bytes()
HOTLINE = "testpbx1-1796174260.0"


def at(stamp: str) -> datetime:
    return datetime.fromtimestamp(float(stamp), tz=UTC)


def _counts(s: Session) -> tuple[int, int]:
    return s.scalar(select(func.count()).select_from(Call)), s.scalar(select(func.count()).select_from(CallEvent))


def test_import_creates_missed_calls_and_a_second_import_changes_nothing(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    cel = tmp_path / "cel.jsonl"
    cel.write_bytes(CAPTURE)
    store = CallStore(session_factory, "testpbx1")
    result = store.import_cel(cel_reader(cel), live=set(), pbx_started_at=None)
    assert (result.created, result.completed, result.unchanged, result.waiting) == (5, 0, 0, 0)
    with session_factory() as s:
        call = s.scalar(select(Call).where(Call.linkedid == HOTLINE))
        assert call is not None
        assert (call.caller_number, call.called_number, call.pbx_node) == ("79990210001", "8800", "testpbx1")
        assert call.started_at == at("1796174260.459111")
        assert call.answered_at == at("1796174260.461232")
        assert call.disclosure_at == at("1796174266.971394")
        assert call.ended_at == at("1796174281.882391")
        assert call.recording_path == f"2026/12/02/{HOTLINE}.wav"
        assert (call.outcome, call.hangup_cause, call.hangup_cause_text) == (
            CallOutcome.COMPLETED, 16, "Normal Clearing")
        assert [e.kind for e in call.events] == ["started", "answered", "recording", "disclosure", "hangup"]
        assert call.events[0].data["source"] == "cel"
        mark = s.get(CelImportMark, "testpbx1")
        assert mark is not None and mark.position == len(CAPTURE)
        before = _counts(s)

    again = store.import_cel(cel_reader(cel), live=set(), pbx_started_at=None)
    assert (again.created, again.completed, again.read_bytes) == (0, 0, 0)  # nothing after the mark

    with session_factory.begin() as s:  # even from the start of the file: nothing changes
        s.get(CelImportMark, "testpbx1").position = 0  # type: ignore[union-attr]
    full = store.import_cel(cel_reader(cel), live=set(), pbx_started_at=None)
    assert (full.created, full.completed, full.unchanged) == (0, 0, 5)
    with session_factory() as s:
        assert _counts(s) == before


def test_a_call_known_from_ami_is_completed_not_duplicated(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    store = CallStore(session_factory, "testpbx1")
    # The controller saw this call start, then lost AMI and estimated its end.
    store.apply([
        CallStarted(HOTLINE, HOTLINE, "PJSIP/trunk-00000000", "inbound", "79990210001", None, "8800",
                    at("1796174260.459111")),
        CallEnded(HOTLINE, at("1796174300"), "completed", None, DISCONNECTED_TEXT),
    ])
    cel = tmp_path / "cel.jsonl"
    cel.write_bytes(CAPTURE)
    result = store.import_cel(cel_reader(cel), live=set(), pbx_started_at=None)
    assert (result.created, result.completed) == (4, 1)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Call).where(Call.linkedid == HOTLINE)) == 1
        call = s.scalar(select(Call).where(Call.linkedid == HOTLINE))
        assert call.ended_at == at("1796174281.882391")  # the PBX's time, not the estimate
        assert (call.hangup_cause, call.hangup_cause_text) == (16, "Normal Clearing")
        assert call.recording_path and call.disclosure_at and call.answered_at


def test_a_missing_file_imports_nothing_and_keeps_no_mark(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    store = CallStore(session_factory, "testpbx1")
    result = store.import_cel(cel_reader(tmp_path / "none.jsonl"), live=set(), pbx_started_at=None)
    assert result.created == 0
    with session_factory() as s:
        assert s.get(CelImportMark, "testpbx1") is None


def test_an_overlong_caller_id_is_cut_to_the_column_and_spoils_no_other_row(
    session_factory: sessionmaker[Session],
) -> None:
    store = CallStore(session_factory, "testpbx1")
    t = at("1796174260")
    store.apply([
        CallStarted("a", "a", "PJSIP/trunk-1", "inbound", "7" * 300, "Н" * 300, "8800", t),
        CallStarted("b", "b", "PJSIP/trunk-2", "inbound", "79990000002", None, "8800", t),
    ])
    with session_factory() as s:
        rows = {c.linkedid: c for c in s.scalars(select(Call))}
        assert rows["a"].caller_number == "7" * 64 and rows["a"].caller_name == "Н" * 128
        assert rows["b"].caller_number == "79990000002"


class RefusingStore(CallStore):
    """Refuses one call for good, as a database would a row it cannot take."""

    def _merge(self, s, e, cache):  # type: ignore[no-untyped-def]
        result = super()._merge(s, e, cache)
        if e.linkedid == HOTLINE:
            s.flush()
            raise DataError("INSERT INTO calls", {}, ValueError("refused"))
        return result


def test_a_careful_import_leaves_out_only_the_call_the_database_refuses(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    cel = tmp_path / "cel.jsonl"
    cel.write_bytes(CAPTURE)
    store = RefusingStore(session_factory, "testpbx1")
    with pytest.raises(DataError):  # all at once: the whole import fails, nothing moves
        store.import_cel(cel_reader(cel), live=set(), pbx_started_at=None)
    with session_factory() as s:
        assert _counts(s) == (0, 0) and s.get(CelImportMark, "testpbx1") is None
    result = store.import_cel(cel_reader(cel), live=set(), pbx_started_at=None, careful=True)
    assert (result.created, result.refused) == (4, 1)
    with session_factory() as s:
        linkedids = set(s.scalars(select(Call.linkedid)))
        assert HOTLINE not in linkedids and len(linkedids) == 4
        assert s.get(CelImportMark, "testpbx1").position == len(CAPTURE)  # type: ignore[union-attr]
