"""The call registry, fed recorded AMI events (pure: no sockets, no PBX)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from calls.registry import (
    CallAnswered,
    CallDisclosed,
    CallEnded,
    CallRecording,
    CallRegistry,
    CallStarted,
    LiveChannel,
)

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Msg:
    name: str
    headers: dict

    def get(self, key, default=None):  # type: ignore[no-untyped-def]
        return self.headers.get(key, default)


def ev(name: str, **headers: str) -> Msg:
    return Msg(name, {k.replace("_", "-") if k == "Cause_txt" else k: v for k, v in headers.items()})


def inbound(uid: str = "pbx1-1.1", caller: str = "79990000001") -> Msg:
    return ev("Newchannel", Channel="PJSIP/trunk-00000001", Uniqueid=uid, Linkedid=uid, CallerIDNum=caller,
              CallerIDName="<unknown>", Exten="8800", Context="from-trunk", ChannelState="4")


def test_inbound_call_lifecycle() -> None:
    r = CallRegistry()
    started = r.handle(inbound(), T0)
    assert started == [CallStarted("pbx1-1.1", "pbx1-1.1", "PJSIP/trunk-00000001", "inbound", "79990000001",
                                   None, "8800", T0)]
    assert r.handle(ev("Newstate", Uniqueid="pbx1-1.1", ChannelState="6"), T0) == [CallAnswered("pbx1-1.1", T0)]
    # answered once only
    assert r.handle(ev("Newstate", Uniqueid="pbx1-1.1", ChannelState="6"), T0) == []
    rec = r.handle(ev("UserEvent", UserEvent="HotlineRecording", Uniqueid="pbx1-1.1", Linkedid="pbx1-1.1",
                      File="2026/11/23/pbx1-1.1.wav"), T0)
    assert rec == [CallRecording("pbx1-1.1", "2026/11/23/pbx1-1.1.wav", T0)]
    assert r.handle(ev("UserEvent", UserEvent="HotlineDisclosure", Linkedid="pbx1-1.1"), T0) == [
        CallDisclosed("pbx1-1.1", T0)
    ]
    end = r.handle(ev("Hangup", Uniqueid="pbx1-1.1", Cause="16", Cause_txt="Normal Clearing"), T0)
    assert end == [CallEnded("pbx1-1.1", T0, "completed", 16, "Normal Clearing")]
    assert r.calls == {}


def test_call_ends_with_its_last_channel_and_unanswered_outcomes() -> None:
    r = CallRegistry()
    r.handle(inbound(), T0)
    leg = ev("Newchannel", Channel="PJSIP/operator1-2", Uniqueid="pbx1-1.2", Linkedid="pbx1-1.1",
             CallerIDNum="8800", Exten="s", Context="internal")
    assert r.handle(leg, T0) == []  # a leg of the same call, not a new call
    assert r.handle(ev("Hangup", Uniqueid="pbx1-1.1", Cause="17"), T0) == []
    ended = r.handle(ev("Hangup", Uniqueid="pbx1-1.2", Cause="16"), T0)
    assert ended[0].outcome == "busy"  # the first channel's cause decides


def test_unknown_events_and_channels_are_ignored() -> None:
    r = CallRegistry()
    assert r.handle(ev("Hangup", Uniqueid="nope"), T0) == []
    assert r.handle(ev("Newstate", Uniqueid="nope", ChannelState="6"), T0) == []
    assert r.handle(ev("UserEvent", UserEvent="HotlineDisclosure", Linkedid="nope"), T0) == []
    assert r.handle(ev("VarSet", Uniqueid="x"), T0) == []


def _live(uid: str, linkedid: str, state: str = "6", seconds: int = 30) -> LiveChannel:
    return LiveChannel(uid, linkedid, f"PJSIP/trunk-{uid}", "79990000002", None, "8802", "from-trunk", state, seconds)


def test_resync_after_pbx_restart_closes_calls_as_interrupted() -> None:
    r = CallRegistry()
    r.handle(inbound("a"), T0)
    lost = T0 + timedelta(seconds=10)
    restarted = T0 + timedelta(seconds=12)
    effects = r.resync([], T0 + timedelta(seconds=20), pbx_started_at=restarted, lost_at=lost)
    assert effects == [CallEnded("a", lost, "interrupted", None, "PBX restarted during the call")]
    assert r.calls == {}


def test_resync_after_controller_blip_keeps_live_calls_and_closes_gone_ones() -> None:
    r = CallRegistry()
    r.handle(inbound("a"), T0)
    r.handle(ev("Newstate", Uniqueid="a", ChannelState="6"), T0)
    r.handle(inbound("b"), T0)
    pbx_started = T0 - timedelta(hours=1)  # the PBX kept running
    effects = r.resync([_live("b", "b", state="4")], T0 + timedelta(seconds=5), pbx_started)
    assert effects == [CallEnded("a", T0 + timedelta(seconds=5), "completed", None,
                                 "ended while the controller was disconnected")]
    assert set(r.calls) == {"b"}
    # b's hangup is still understood after the resync
    assert r.handle(ev("Hangup", Uniqueid="b", Cause="16"), T0)[0].outcome == "unanswered"


def test_resync_adopts_unknown_live_calls_and_restored_ones() -> None:
    r = CallRegistry()
    r.restore("old", T0 - timedelta(minutes=1), answered=True)
    now = T0 + timedelta(seconds=30)
    effects = r.resync([_live("old", "old"), _live("new", "new", seconds=30)], now, T0 - timedelta(hours=1))
    starts = [e for e in effects if isinstance(e, CallStarted)]
    assert [s.linkedid for s in starts] == ["new"] and starts[0].at == now - timedelta(seconds=30)
    assert CallAnswered("new", now) in effects
    assert r.handle(ev("Hangup", Uniqueid="old", Cause="16"), now)[0].outcome == "completed"


def test_pbx_timestamp_is_the_time_of_an_event() -> None:
    r = CallRegistry()
    m = inbound()
    m.headers["Timestamp"] = str(T0.timestamp() - 2.5)
    (started,) = r.handle(m, T0)
    assert started.at == T0 - timedelta(seconds=2.5)
    m2 = ev("Newstate", Uniqueid="pbx1-1.1", ChannelState="6", Timestamp="garbage")
    assert r.handle(m2, T0) == [CallAnswered("pbx1-1.1", T0)]


def test_resync_pbx_restart_seconds_after_the_call_began_is_still_an_interruption() -> None:
    """Uptime has one-second resolution: a PBX that died and came back within a second or
    two of the call's start must not pass for one that kept running."""
    r = CallRegistry()
    r.handle(inbound("a"), T0)
    lost = T0 + timedelta(milliseconds=300)
    pbx_started = T0  # reported uptime rounds the restart down to the call's own second
    effects = r.resync([], T0 + timedelta(seconds=2), pbx_started, lost)
    assert effects[0].outcome == "interrupted"


def test_callbacks_we_originate_are_outbound() -> None:
    r = CallRegistry()
    m = ev("Newchannel", Channel="PJSIP/operator1-0001", Uniqueid="pbx1-cb42-ab12", Linkedid="pbx1-cb42-ab12",
           CallerIDNum="operator1", Exten="s", Context="callback-bridge")
    (started,) = r.handle(m, T0)
    assert started.direction == "outbound"
