"""The first slice, with real SIP calls: disclosure first, the whole call recorded, a record kept.

Also the live paths the next issues build on: keys (RFC 2833) and voice (AudioSocket) reach
the controller, and the test callee answers, rejects busy or never answers.
"""

from __future__ import annotations

import pytest
from harness import Script, Stack, make_voice, operators_schedule, poll, recording_stats

from calls.models import CallDirection, CallOutcome
from telephony.sipp import Dtmf, ExpectHangup, Go, Hangup, Pause, Voice
from telephony.sipp.audio import duration_ms

pytestmark = pytest.mark.stack


async def test_hotline_call_is_disclosed_recorded_and_kept(e2e: Stack) -> None:
    e2e.set_config("hours.operators", operators_schedule(True))  # whatever the hour of the test run
    voice = make_voice(e2e.workdir / "voices")
    # Speaks, asks for outage information (3); an unknown number is offered identification for
    # the address, declines (2), is back in the main menu, and hangs up.
    caller = await e2e.call(e2e.settings.hotline_number,
                            [Voice(voice, wait=False), Go(), Pause(400), Dtmf("3"), Go(), Pause(400), Dtmf("2"),
                             Go(), Pause(400), Hangup()])
    script = Script(e2e, caller)
    await script.at("main_menu")
    await script.at("offer_identify")
    await script.at("main_menu")
    result = await caller.wait(timeout=60)
    assert result.ok, result.explain()

    call = await e2e.wait_ended(caller.caller_id)
    assert call.direction == CallDirection.INBOUND
    assert call.called_number == e2e.settings.hotline_number
    assert call.outcome == CallOutcome.COMPLETED
    assert call.account_id is None  # an unknown number: no account linked
    assert call.answered_at is not None and call.disclosure_at is not None
    assert call.started_at <= call.answered_at <= call.disclosure_at <= call.ended_at

    # The disclosure comes before anything the flow says.
    kinds = [e.kind for e in call.events]
    assert kinds.index("disclosure") < kinds.index("flow"), kinds
    assert script.steps()[:3] == ["hours_check", "main_menu", "outages"]

    # The recording exists, covers the call, and is not silence.
    assert call.recording_path
    path = e2e.settings.recordings_dir / call.recording_path
    assert path.exists(), path
    stats = recording_stats(path)
    call_seconds = (call.ended_at - call.answered_at).total_seconds()
    assert stats["Length s"] >= call_seconds - 1.5, (stats["Length s"], call_seconds)
    assert stats["RMS lev dB"] > -40, stats


async def test_known_caller_is_linked_to_the_account(e2e: Stack) -> None:
    from sqlalchemy import select

    from accounts.models import Account, AccountPhone

    with e2e.sessions() as s:
        account_id = s.scalar(select(Account.id).join(AccountPhone).where(AccountPhone.phone == "+79990000003"))
    assert account_id is not None, "the demo accounts are seeded by the stack"
    caller = await e2e.call(e2e.settings.hotline_number, [Pause(500), Hangup()], caller_id="79990000003")
    assert (await caller.wait(30)).ok
    call = await e2e.wait_ended("79990000003")
    assert call.account_id == account_id


async def test_keys_and_voice_reach_the_controller(e2e: Stack) -> None:
    voice = make_voice(e2e.workdir / "voices")
    steps = [Go(), Dtmf("42#"), Voice(voice, wait=True, duration_ms=duration_ms(voice)), Pause(300), Hangup()]
    caller = await e2e.call("8801", steps)

    # Press the keys once the flow is reading them, not at a guessed moment.
    await e2e.wait_event(caller.caller_id, "flow", step="voice_check")
    await caller.go(e2e.ami)
    result = await caller.wait(timeout=60)
    assert result.ok, result.explain()

    call = await e2e.wait_event(caller.caller_id, "audio")
    dtmf = [e.data for e in call.events if e.kind == "dtmf"]
    assert dtmf and dtmf[0]["digits"] == "42", dtmf
    audio = next(e.data for e in call.events if e.kind == "audio")
    # ~4.5 s of speech at 50 frames a second; most of it voiced.
    assert audio["frames"] > 150, audio
    assert audio["voiced_frames"] > 100, audio


@pytest.mark.parametrize(
    ("mode", "response", "causes"),
    [("answer", "Success", {16}), ("reject", "Failure", {17}), ("ring", "Failure", {19, 0})],
    ids=["answers", "busy", "never-answers"],
)
async def test_callee_helper_answers_rejects_or_rings(e2e: Stack, mode: str, response: str, causes: set) -> None:
    """The callee helper behaves as each kind of customer phone: seen from the PBX (the
    originate's result and the Q.850 cause of the callee's channel) and from the callee."""
    callee = await e2e.callee("callee1", mode, hold_ms=0)
    seen: list = []
    unsubscribe = e2e.ami.subscribe(seen.append, ["OriginateResponse", "Hangup"])
    try:
        reply = await e2e.ami.action(
            "Originate", Channel="PJSIP/callee1", Context="originate-test", Exten="s", Priority="1",
            Timeout="4000", Async="true", CallerID="8800",
        )
        action_id = reply.action_id
        result_event = await poll(
            lambda: next((m for m in seen if m.name == "OriginateResponse" and m.action_id == action_id), None),
            20, "the OriginateResponse")
        assert result_event.get("Response") == response, result_event
        hangup = await poll(
            lambda: next((m for m in seen if m.name == "Hangup" and m.get("Channel", "").startswith("PJSIP/callee1-")),
                         None), 30, "the callee channel's hangup")
        assert int(hangup.get("Cause")) in causes, hangup
        # The callee's own view: its one call followed the scenario to the end (BYE from the
        # PBX after the prompt, ACK of the 486, or CANCEL after the ring timeout).
        result = await callee.wait(timeout=30)
        assert result.ok, result.explain()
    finally:
        unsubscribe()
        await callee.stop()


async def test_recording_disclosure_is_played_when_the_controller_is_down(e2e: Stack) -> None:
    """The disclosure lives in the dialplan: a caller hears it, recorded, even with no controller."""
    from hotline.stack import stack as parts

    from hours.handlers import WINDOWS_VARIABLE

    before_files = set(e2e.settings.recordings_dir.rglob("*.wav"))
    parts.stop_controller(e2e.settings)
    try:
        # No operators' hours known to the PBX (as after a PBX restart): the apology, not the
        # queue (whatever an earlier test left published; tests/e2e/test_trust_ivr.py covers
        # the queue in hours).
        assert e2e.ami is not None
        await e2e.ami.action("Setvar", Variable=WINDOWS_VARIABLE, Value="")
        caller = await e2e.call(e2e.settings.hotline_number, [ExpectHangup()])
        result = await caller.wait(timeout=60)  # disclosure, "service unavailable", hangup
        assert result.ok, result.explain()
    finally:
        before = e2e.synced_at()
        parts.start_controller(e2e.settings)
        await poll(lambda: e2e.synced_at() not in (None, before), 30, "the controller to resync")
    new_files = set(e2e.settings.recordings_dir.rglob("*.wav")) - before_files
    assert len(new_files) == 1, new_files
    stats = recording_stats(new_files.pop())
    assert stats["Length s"] > 8, stats  # disclosure (~6 s) and the apology were both played
    assert stats["RMS lev dB"] > -40, stats
