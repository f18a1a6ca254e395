"""Nothing reachable that should not be: real SIP INVITEs from sipp against the real PBX.

Only the trunk (matched by its address) reaches the hotline numbers, and nothing else; an
address the PBX does not know is refused before any answer; the diagnostics numbers answer
only internal phones; the controller's AMI user cannot run CLI commands or system actions.
"""

from __future__ import annotations

import asyncio
import re
import subprocess

import pytest
from harness import Stack, poll

from hotline.stack import stack as parts
from hotline.stack.pbx import TESTER_ADDRESS
from telephony.ami import AmiClient
from telephony.ami.client import AmiActionError
from telephony.sipp import Go, Hangup, Pause, SippResult

pytestmark = pytest.mark.stack

UNKNOWN_ADDRESS = "127.0.0.2"  # this machine, but not the trunk (127.0.0.1/32) nor the tester


def sip_statuses(result: SippResult) -> list[int]:
    """Every SIP response the caller received, in order (from sipp's message trace)."""
    codes: list[int] = []
    for log in sorted(result.folder.glob("*_messages.log")):
        text = log.read_text(errors="replace")
        codes += [int(c) for c in re.findall(r"^SIP/2\.0 (\d{3})", text, re.M)]
    return codes


async def processed_calls(e2e: Stack) -> int:
    """How many channels the PBX has ever created (CoreStatus): unchanged means none was."""
    assert e2e.ami is not None
    reply = await e2e.ami.action("CoreStatus")
    return int(reply.get("CoreProcessedCalls") or 0)


async def refused(e2e: Stack, number: str, source: str) -> list[int]:
    """Call `number` from `source`; assert it was refused unanswered; return the statuses."""
    before = await processed_calls(e2e)
    caller = await e2e.call(number, [Pause(500), Hangup()], source=source)
    result = await caller.wait(30)
    statuses = sip_statuses(result)
    assert not result.ok, statuses
    assert 200 not in statuses, f"{number} from {source or 'the trunk'} was answered: {statuses}"
    assert statuses and statuses[-1] >= 400, statuses
    # Refused before any channel existed: nothing answered, nothing recorded, no call row.
    assert await processed_calls(e2e) == before
    assert e2e.call_record(caller.caller_id) is None
    return statuses


@pytest.mark.parametrize("number", ["8800", "88001000000", "8801", "8802", "12345", "s"])
async def test_an_unknown_address_is_refused_unanswered(e2e: Stack, number: str) -> None:
    statuses = await refused(e2e, number, UNKNOWN_ADDRESS)
    assert 401 in statuses  # no endpoint matches: challenged, never let in


@pytest.mark.parametrize("number", ["8801", "8802", "12345", "101", "operator1", "s"])
async def test_the_trunk_reaches_nothing_but_the_hotline_numbers(e2e: Stack, number: str) -> None:
    statuses = await refused(e2e, number, "")
    assert statuses[-1] == 404, statuses


async def test_the_trunk_reaches_the_hotline(e2e: Stack) -> None:
    caller = await e2e.call(e2e.settings.hotline_number, [Pause(500), Hangup()])
    result = await caller.wait(30)
    assert result.ok, result.explain()
    call = await e2e.wait_ended(caller.caller_id)
    assert call.answered_at is not None and call.recording_path
    assert call.direction.value == "inbound"


def udp_listeners(pid: int) -> list[tuple[str, int]]:
    """The UDP sockets process `pid` has bound, as (address, port)."""
    out = subprocess.run(["ss", "-ulnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        if f"pid={pid}," in line:
            local = line.split()[3]
            address, _, port = local.rpartition(":")
            found.append((address.strip("[]"), int(port)))
    return found


async def test_an_internal_phone_reaches_the_diagnostics_numbers(e2e: Stack) -> None:
    caller = await e2e.call("8802", [Go(), Hangup()], source=TESTER_ADDRESS)
    await e2e.wait_call(caller.caller_id, "answered", check=lambda c: c.answered_at is not None)
    # While the call is up: its RTP, like SIP, is bound to the public address only.
    s = e2e.settings
    pid = parts.running(s)["asterisk"]
    assert pid is not None
    media = [(a, p) for a, p in udp_listeners(pid) if s.rtp_port_start <= p <= s.rtp_port_end]
    assert media and all(a == s.public_bind_address for a, _ in media), media
    assert (s.public_bind_address, s.sip_port) in udp_listeners(pid)
    await caller.go(e2e.ami)
    assert (await caller.wait(30)).ok
    call = await e2e.wait_ended(caller.caller_id)
    assert call.direction.value == "internal"


async def test_the_controllers_ami_user_has_only_the_rights_it_uses(e2e: Stack) -> None:
    s = e2e.settings
    ami = AmiClient(s.internal_bind_address, s.ami_port, s.ami_username, s.ami_secret,
                    name="ami:rights")
    task = asyncio.create_task(ami.run())
    try:
        await ami.wait_connected(timeout=20)
        # What the controller uses works ...
        await ami.action_list("CoreShowChannels")
        status = await ami.action("CoreStatus")
        assert status.get("CoreStartupTime")
        await ami.action_list("QueueStatus", Queue="operators")
        await ami.action("Getvar", Variable="DEVICE_STATE(PJSIP/operator1)")
        # ... and no CLI command (`!` runs a shell), no system action.
        for name, fields in (
            ("Command", {"Command": "core show uptime seconds"}),
            ("PJSIPNotify", {"Endpoint": "operator1", "Variable": ["Event=check-sync"]}),
            ("Reload", {}),
            ("ModuleLoad", {"Module": "app_system.so", "LoadType": "load"}),
        ):
            with pytest.raises(AmiActionError, match="Permission denied"):
                await ami.action(name, **fields)
    finally:
        await ami.close()
        task.cancel()


_SDP = """v=0
o=softphone 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=sendrecv
"""


def softphone_scenario(user: str, password: str) -> str:
    """A softphone's call: INVITE, challenged (401), INVITE again with digest credentials,
    answered and hung up, or refused again (the scenario then ends; the test reads the
    replies)."""
    who = f"From: <sip:{user}@[local_ip]:[local_port]>;tag=[pid]T[call_number]"
    to = "To: <sip:[service]@[remote_ip]:[remote_port]>"

    def invite(cseq: int, auth: str) -> str:
        return f"""  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{who}
{to}
Call-ID: [call_id]
CSeq: {cseq} INVITE
Contact: <sip:{user}@[local_ip]:[local_port]>
{auth}Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{_SDP}
]]></send>
"""

    def plain(method: str, cseq: int, retrans: bool = False) -> str:
        return f"""  <send{' retrans="500"' if retrans else ''}><![CDATA[
{method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{who}
{to}[peer_tag_param]
Call-ID: [call_id]
CSeq: {cseq} {method}
Max-Forwards: 70
Content-Length: 0

]]></send>
"""

    def ack_refusal(cseq: int) -> str:
        return f"""  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
[last_From:]
[last_To:]
Call-ID: [call_id]
CSeq: {cseq} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
"""

    credentials = f"[authentication username={user} password={password}]\n"
    return (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="softphone">\n'
        + invite(1, "")
        + '  <recv response="100" optional="true"/>\n  <recv response="401" auth="true"/>\n'
        + ack_refusal(1)
        + invite(2, credentials)
        + '  <recv response="100" optional="true"/>\n  <recv response="180" optional="true"/>\n'
        + '  <recv response="183" optional="true"/>\n'
        + '  <recv response="401" optional="true" next="refused"/>\n'
        + '  <recv response="403" optional="true" next="refused"/>\n'
        + '  <recv response="200" rtd="true"/>\n'
        + plain("ACK", 2)
        + '  <pause milliseconds="300"/>\n'
        + plain("BYE", 3, retrans=True)
        + '  <recv response="200" next="done"/>\n'
        + '  <label id="refused"/>\n'
        + ack_refusal(2)
        + '  <label id="done"/>\n</scenario>\n'
    )


async def softphone_call(e2e: Stack, user: str, password: str, number: str) -> SippResult:
    from telephony.sipp import SippProcess, free_media_port, free_udp_port

    s = e2e.settings
    host = s.public_bind_address
    folder = e2e.workdir / "sipp" / f"softphone-{user}-{number}-{len(password)}"
    sipp = SippProcess(
        softphone_scenario(user, password), folder,
        [f"{host}:{s.sip_port}", "-s", number, "-i", host, "-p", str(free_udp_port(host)),
         "-mi", host, "-mp", str(free_media_port(host)), "-m", "1", "-l", "1", "-timeout", "30s"],
        "softphone",
    )
    await sipp.start()
    return await sipp.wait(40)


async def test_a_softphone_authenticates_with_its_password(e2e: Stack) -> None:
    """101 is challenged and, with its password, reaches the diagnostics numbers; with a
    wrong one it is refused, unanswered."""
    right = await softphone_call(e2e, "101", e2e.settings.sip_password, "8802")
    statuses = sip_statuses(right)
    assert right.ok, right.explain()
    assert statuses[0] == 401 and 200 in statuses, statuses

    before = await processed_calls(e2e)
    wrong = await softphone_call(e2e, "101", "not-the-password-1", "8802")
    statuses = sip_statuses(wrong)
    assert 200 not in statuses, statuses
    assert statuses[0] == 401 and statuses[-1] in (401, 403), statuses
    assert await processed_calls(e2e) == before


def asserted_identity_scenario(from_user: str, asserted: str) -> str:
    """A caller that claims another number in P-Asserted-Identity, stays until the test
    releases it with a NOTIFY, then hangs up."""
    who = f"From: <sip:{from_user}@[local_ip]:[local_port]>;tag=[pid]T[call_number]"
    to = "To: <sip:[service]@[remote_ip]:[remote_port]>"
    ok = """  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
"""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="asserted identity">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{who}
{to}
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:{from_user}@[local_ip]:[local_port]>
P-Asserted-Identity: <sip:{asserted}@[local_ip]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{_SDP}
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{who}
{to}[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv request="NOTIFY" timeout="30000"/>
{ok}  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{who}
{to}[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"""


async def caller_number_seen(e2e: Stack, source: str, number: str, from_user: str,
                             asserted: str) -> str:
    """Call with a P-Asserted-Identity; the caller's number as the PBX took it."""
    from telephony.sipp import SippProcess, free_media_port, free_udp_port

    s = e2e.settings
    host = s.public_bind_address
    local = source or host
    folder = e2e.workdir / "sipp" / f"asserted-{from_user}"
    sipp = SippProcess(
        asserted_identity_scenario(from_user, asserted), folder,
        [f"{host}:{s.sip_port}", "-s", number, "-i", local, "-p", str(free_udp_port(local)),
         "-mi", local, "-mp", str(free_media_port(local)), "-m", "1", "-l", "1", "-timeout", "60s"],
        "asserted",
    )
    await sipp.start()
    assert e2e.ami is not None

    async def channel() -> dict[str, str] | None:
        for item in await e2e.ami.action_list("CoreShowChannels"):  # type: ignore[union-attr]
            if (item.get("Channel") or "").startswith("PJSIP/"):
                return {"channel": item.get("Channel") or "", "number": item.get("CallerIDNum") or ""}
        return None

    seen = await poll(channel, 20, f"the call from {from_user} on the PBX")
    await e2e.ami.action("PJSIPNotify", Channel=seen["channel"],
                         Variable=["Event=hotline-test", "X-Hotline-Step=go"])
    result = await sipp.wait(30)
    assert result.ok, result.explain()
    return seen["number"]


async def test_only_the_trunk_may_set_the_callers_number(e2e: Stack) -> None:
    """P-Asserted-Identity is believed from the trunk only: another phone that claims a
    customer's number keeps the number it called from."""
    claimed = "79990000001"  # a demo customer's number
    from_internal = await caller_number_seen(e2e, TESTER_ADDRESS, "8802", "79990077111", claimed)
    assert from_internal == "79990077111"
    # The control: the trunk's asserted identity is taken (so the check above can fail).
    from_trunk = await caller_number_seen(e2e, "", e2e.settings.hotline_number, "79990077112", claimed)
    assert from_trunk == claimed
