"""sipp scenarios, generated from a list of steps (pure: text in, text out).

A caller (UAC) dials a number, waits for the answer, then runs its steps:
- `Dtmf("123#")`: RFC 2833 key presses, from the pcaps shipped with Debian's sip-tester;
- `Voice(wav)`: streams a G.711 µ-law wav as the caller's voice (sipp's rtp_stream);
- `Pause(ms)`: waits a fixed time (benchmarks; tests prefer `Go`);
- `Go()`: waits until the test sends an in-dialog NOTIFY (AMI `PJSIPNotify` on the
  caller's channel), so a test can press keys exactly when the flow asks, without sleeping.
  sipp aborts a call that gets a NOTIFY while it is still in a step's pause, so the step
  before a `Go()` must end with the key that completes the flow's input (e.g. '#', or the
  last of `max_digits`), never with keys the flow no longer waits for;
- `Hangup()`: the caller ends the call (sends BYE);
- `ExpectHangup(timeout_ms)`: the caller waits for the PBX to end the call (its BYE).

Every caller scenario ends with exactly one of the last two, so a sipp success means every
step ran: a BYE from the PBX anywhere else (during a pause, while waiting for a `Go()`, or
glare with the caller's own BYE) is an unexpected message, which sipp answers with 200 OK
and counts as a FAILED call.

A callee (UAS) answers, rejects with a status (486 busy, 603 decline...), or rings forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

PCAP_DIR = Path("/usr/share/sip-tester")
_PCAP_NAMES = {**{str(d): str(d) for d in range(10)}, "*": "star", "#": "pound"}
DTMF_PCAP_MS = 250  # each shipped pcap holds one ~200 ms event; leave a gap after it


@dataclass(frozen=True)
class Dtmf:
    digits: str
    gap_ms: int = 120

    def __post_init__(self) -> None:
        bad = [d for d in self.digits if d not in _PCAP_NAMES]
        if bad or not self.digits:
            raise ValueError(f"DTMF digits must be 0-9, * or #: {self.digits!r}")


@dataclass(frozen=True)
class Voice:
    wav: Path  # G.711 µ-law, 8 kHz mono (see telephony.sipp.audio.to_ulaw)
    wait: bool = True  # wait for the audio to finish before the next step
    duration_ms: int = 0


@dataclass(frozen=True)
class Pause:
    ms: int


@dataclass(frozen=True)
class Go:
    pass


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class ExpectHangup:
    """The PBX ends the call here (after goodbye, say): wait up to `timeout_ms` for its BYE."""

    timeout_ms: int = 300_000


Step = Dtmf | Voice | Pause | Go | Hangup | ExpectHangup


def dtmf_pcap(digit: str) -> Path:
    return PCAP_DIR / f"dtmf_2833_{_PCAP_NAMES[digit]}.pcap"


_SDP = """v=0
o=hotline-test 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=sendrecv
"""

_OK_FOR_REQUEST = """  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[field0]@[local_ip]:[local_port]>
Content-Length: 0

    ]]>
  </send>
"""


def all_digits(steps: list[Step] | tuple[Step, ...]) -> str:
    return "".join(s.digits for s in steps if isinstance(s, Dtmf))


def check_caller_steps(steps: list[Step] | tuple[Step, ...]) -> None:
    """A caller's steps end with who ends the call, `Hangup()` or `ExpectHangup()`, and only there."""
    ends = [i for i, s in enumerate(steps) if isinstance(s, Hangup | ExpectHangup)]
    if ends != [len(steps) - 1]:
        raise ValueError(
            "a caller's steps end with exactly one Hangup() (the caller ends the call) or "
            f"ExpectHangup() (the PBX does), and have none before: {list(steps)!r}"
        )


def caller_scenario(
    steps: list[Step] | tuple[Step, ...],
    dtmf_pcaps: list[Path] | None = None,
    caller_id_field: str = "[field0]",
) -> str:
    """A UAC scenario. The caller number comes from the injection file (`field0`).

    `dtmf_pcaps[k]` plays the k-th key of the call (see telephony.sipp.dtmf); without them the
    pcaps shipped with sip-tester are used, which only work for keys in ascending order.
    """
    check_caller_steps(steps)
    key_index = 0
    headers_from = f'From: <sip:{caller_id_field}@[local_ip]:[local_port]>;tag=[pid]T[call_number]'
    out = [
        '<?xml version="1.0" encoding="ISO-8859-1" ?>',
        '<scenario name="hotline test caller">',
        '  <send retrans="500">',
        "    <![CDATA[",
        "INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
        headers_from,
        "To: <sip:[service]@[remote_ip]:[remote_port]>",
        "Call-ID: [call_id]",
        "CSeq: 1 INVITE",
        f"Contact: <sip:{caller_id_field}@[local_ip]:[local_port]>",
        "Max-Forwards: 70",
        "Content-Type: application/sdp",
        "Content-Length: [len]",
        "",
        _SDP,
        "    ]]>",
        "  </send>",
        '  <recv response="100" optional="true"/>',
        '  <recv response="180" optional="true"/>',
        '  <recv response="183" optional="true"/>',
        # No "global" BYE: a BYE from the PBX before the scenario's last step is unexpected,
        # and sipp fails the call (see the module's docstring).
        '  <recv response="200" rtd="true"/>',
        "  <send>",
        "    <![CDATA[",
        "ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
        headers_from,
        "To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]",
        "Call-ID: [call_id]",
        "CSeq: 1 ACK",
        f"Contact: <sip:{caller_id_field}@[local_ip]:[local_port]>",
        "Max-Forwards: 70",
        "Content-Length: 0",
        "",
        "    ]]>",
        "  </send>",
    ]
    for step in steps:
        if isinstance(step, Dtmf):
            for i, digit in enumerate(step.digits):
                pcap = dtmf_pcaps[key_index] if dtmf_pcaps else dtmf_pcap(digit)
                key_index += 1
                if i:
                    out.append(f'  <pause milliseconds="{DTMF_PCAP_MS + step.gap_ms}"/>')
                # play_pcap_audio runs in the background: after the last key the scenario
                # moves on at once, so a test's next "go" (NOTIFY) never arrives during a
                # pause, which makes sipp skip the actions that follow it.
                out.append(f'  <nop><action><exec play_pcap_audio={quoteattr(str(pcap))}/></action></nop>')
        elif isinstance(step, Voice):
            out.append(f'  <nop><action><exec rtp_stream={quoteattr(f"{step.wav},1,0")}/></action></nop>')
            if step.wait and step.duration_ms:
                out.append(f'  <pause milliseconds="{step.duration_ms + 100}"/>')
        elif isinstance(step, Pause):
            out.append(f'  <pause milliseconds="{step.ms}"/>')
        elif isinstance(step, Go):
            out.append('  <recv request="NOTIFY" timeout="120000"/>')
            out.append(_OK_FOR_REQUEST)
        elif isinstance(step, Hangup):
            out += [
                '  <send retrans="500">',
                "    <![CDATA[",
                "BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
                "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
                headers_from,
                "To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]",
                "Call-ID: [call_id]",
                "CSeq: 2 BYE",
                f"Contact: <sip:{caller_id_field}@[local_ip]:[local_port]>",
                "Max-Forwards: 70",
                "Content-Length: 0",
                "",
                "    ]]>",
                "  </send>",
                '  <recv response="200" crlf="true" next="done"/>',
            ]
        elif isinstance(step, ExpectHangup):
            # No ontimeout: a PBX that does not hang up in time fails the call.
            out.append(f'  <recv request="BYE" timeout="{step.timeout_ms}" next="remote_bye"/>')
    out += [
        '  <label id="remote_bye"/>',
        _OK_FOR_REQUEST.rstrip("\n"),
        '  <label id="done"/>',
        '  <nop display="call ended"/>',
        "</scenario>",
        "",
    ]
    return "\n".join(out)


def callee_scenario(
    mode: str = "answer",
    ring_ms: int = 200,
    reject_code: int = 486,
    voice: Path | None = None,
    hold_ms: int = 0,
) -> str:
    """A UAS scenario: `answer` (then wait for BYE, or hang up after hold_ms), `reject`, `ring`.

    As for callers, a BYE from the PBX before the last step (during `hold_ms`) fails the call.
    """
    reasons = {486: "Busy Here", 603: "Decline", 480: "Temporarily Unavailable", 404: "Not Found"}
    head = [
        '<?xml version="1.0" encoding="ISO-8859-1" ?>',
        f'<scenario name="hotline test callee ({mode})">',
        '  <recv request="INVITE" crlf="true" rrs="true">',
        "    <action>",
        # sipp refuses variables that are set but never used: capture only what is needed.
        *(['      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="remote_from"/>']
          if mode == "answer" and hold_ms else []),
        *(['      <ereg regexp=".*" search_in="hdr" header="CSeq:" check_it="true" assign_to="invite_cseq"/>']
          if mode == "ring" else []),
        "    </action>",
        "  </recv>",
        "  <send>",
        "    <![CDATA[",
        "SIP/2.0 180 Ringing",
        "[last_Via:]",
        "[last_From:]",
        "[last_To:];tag=[pid]C[call_number]",
        "[last_Call-ID:]",
        "[last_CSeq:]",
        "Contact: <sip:callee@[local_ip]:[local_port]>",
        "Content-Length: 0",
        "",
        "    ]]>",
        "  </send>",
    ]
    if mode == "ring":
        # Never answers: waits for the CANCEL of the caller's timeout.
        body = [
            '  <recv request="CANCEL" timeout="600000"/>',
            "  <send>",
            "    <![CDATA[",
            "SIP/2.0 200 OK",
            "[last_Via:]", "[last_From:]", "[last_To:]", "[last_Call-ID:]", "[last_CSeq:]",
            "Content-Length: 0",
            "",
            "    ]]>",
            "  </send>",
            "  <send>",
            "    <![CDATA[",
            "SIP/2.0 487 Request Terminated",
            "[last_Via:]", "[last_From:]", "[last_To:];tag=[pid]C[call_number]", "[last_Call-ID:]",
            "CSeq:[$invite_cseq]",
            "Content-Length: 0",
            "",
            "    ]]>",
            "  </send>",
            '  <recv request="ACK"/>',
        ]
    elif mode == "reject":
        body = [
            f'  <pause milliseconds="{ring_ms}"/>',
            "  <send>",
            "    <![CDATA[",
            f"SIP/2.0 {reject_code} {reasons.get(reject_code, 'Rejected')}",
            "[last_Via:]", "[last_From:]", "[last_To:];tag=[pid]C[call_number]", "[last_Call-ID:]",
            "[last_CSeq:]",
            "Content-Length: 0",
            "",
            "    ]]>",
            "  </send>",
            '  <recv request="ACK"/>',
        ]
    elif mode == "answer":
        body = [
            f'  <pause milliseconds="{ring_ms}"/>',
            '  <send retrans="500">',
            "    <![CDATA[",
            "SIP/2.0 200 OK",
            "[last_Via:]", "[last_From:]", "[last_To:];tag=[pid]C[call_number]", "[last_Call-ID:]",
            "[last_CSeq:]",
            "Contact: <sip:callee@[local_ip]:[local_port]>",
            "Content-Type: application/sdp",
            "Content-Length: [len]",
            "",
            _SDP,
            "    ]]>",
            "  </send>",
            '  <recv request="ACK" crlf="true"/>',
        ]
        if voice is not None:
            body.append(f'  <nop><action><exec rtp_stream={quoteattr(f"{voice},-1,0")}/></action></nop>')
        if hold_ms:
            body += [
                f'  <pause milliseconds="{hold_ms}"/>',
                "  <send retrans=\"500\">",
                "    <![CDATA[",
                "BYE [next_url] SIP/2.0",
                "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
                "From: <sip:callee@[local_ip]:[local_port]>;tag=[pid]C[call_number]",
                "To:[$remote_from]",
                "[last_Call-ID:]",
                "CSeq: 2 BYE",
                "Max-Forwards: 70",
                "Content-Length: 0",
                "",
                "    ]]>",
                "  </send>",
                '  <recv response="200" next="done"/>',
            ]
        else:
            body.append('  <recv request="BYE" timeout="600000" next="remote_bye"/>')
        body += ['  <label id="remote_bye"/>', _OK_FOR_REQUEST.rstrip("\n").replace("[field0]", "callee")]
    else:
        raise ValueError(f"unknown callee mode {mode!r}: answer, reject or ring")
    return "\n".join([*head, *body, '  <label id="done"/>', "</scenario>", ""])
