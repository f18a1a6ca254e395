"""No call is lost when the PBX or the controller goes away mid-call (real calls, real kills)."""

from __future__ import annotations

import pytest
from harness import Stack, poll

from calls.models import CallOutcome
from calls.registry import DISCONNECTED_TEXT
from hotline.stack import stack as parts
from telephony.sipp import Go, Hangup

pytestmark = pytest.mark.stack

HOLD = "8802"  # music on hold, no controller involved: a call that outlives a controller restart


async def _answered(e2e: Stack, caller_id: str) -> None:
    await e2e.wait_call(caller_id, "answered", check=lambda c: c.answered_at is not None)


async def test_controller_restart_keeps_every_call(e2e: Stack) -> None:
    """Controller killed (SIGKILL) with two calls up; one ends while it is down. After the
    restart it rebuilds its view from the database and CoreShowChannels: the ended call is
    closed with its real outcome, the live one is still tracked and closes at its hangup."""
    a = await e2e.call(HOLD, [Go(), Hangup()])
    b = await e2e.call(HOLD, [Go(), Hangup()])
    await _answered(e2e, a.caller_id)
    await _answered(e2e, b.caller_id)
    await a.channel(e2e.ami)
    await b.channel(e2e.ami)

    parts.stop_controller(e2e.settings, kill=True)
    before = e2e.synced_at()
    await a.go(e2e.ami)  # A hangs up while nobody is watching
    assert (await a.wait(30)).ok

    parts.start_controller(e2e.settings)
    await poll(lambda: e2e.synced_at() not in (None, before), 30, "the controller to resync")

    call_a = await e2e.wait_ended(a.caller_id)
    assert call_a.outcome == CallOutcome.COMPLETED
    # Its end as the PBX's own account (CEL) tells it, not the controller's estimate.
    assert call_a.hangup_cause_text != DISCONNECTED_TEXT
    call_b = e2e.call_record(b.caller_id)
    assert call_b is not None and call_b.ended_at is None  # still live, still known

    await b.go(e2e.ami)
    assert (await b.wait(30)).ok
    call_b = await e2e.wait_ended(b.caller_id)
    assert call_b.outcome == CallOutcome.COMPLETED
    # Closed by the real Hangup event, seen by the new controller (not by a resync).
    assert call_b.hangup_cause is not None
    assert call_b.hangup_cause_text != "ended while the controller was disconnected"


async def test_pbx_killed_mid_call_is_closed_and_controller_reconnects(e2e: Stack) -> None:
    caller = await e2e.call(HOLD, [Go(), Hangup()])
    await _answered(e2e, caller.caller_id)

    inst = e2e_pbx(e2e)
    before = e2e.synced_at()
    inst.kill()  # SIGKILL: the call dies with the PBX
    await caller.hangup_now()
    parts.start_pbx(e2e.settings)

    # The controller reconnects by itself (backoff) and closes the interrupted call.
    await poll(lambda: e2e.synced_at() not in (None, before), 60, "the controller to reconnect")
    call = await e2e.wait_ended(caller.caller_id)
    assert call.outcome == CallOutcome.INTERRUPTED
    assert any(e.kind == "interrupted" for e in call.events)

    # And the hotline works again: a new call is recorded as usual.
    await e2e.ami.wait_connected(timeout=30)
    after = await e2e.call(HOLD, [Go(), Hangup()])
    await _answered(e2e, after.caller_id)
    await after.go(e2e.ami)
    assert (await after.wait(30)).ok
    assert (await e2e.wait_ended(after.caller_id)).outcome == CallOutcome.COMPLETED


def e2e_pbx(e2e: Stack):  # type: ignore[no-untyped-def]
    from hotline.stack import pbx

    return pbx.Instance(e2e.settings, pbx.rootfs_path(e2e.settings))
