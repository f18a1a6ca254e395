"""Real SIP test phones (sipp): callers that press keys and speak, callees that answer or not."""

from telephony.sipp.runner import Callee, Caller, SippProcess, SippResult, free_media_port, free_udp_port
from telephony.sipp.scenarios import Dtmf, ExpectHangup, Go, Hangup, Pause, Step, Voice

__all__ = [
    "Callee", "Caller", "Dtmf", "ExpectHangup", "Go", "Hangup", "Pause", "SippProcess", "SippResult",
    "Step", "Voice", "free_media_port", "free_udp_port",
]
