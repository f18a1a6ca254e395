"""The flows Asterisk hands calls to over FastAGI, and the live-audio path (AudioSocket).

Issue-2 slice: after the dialplan's disclosure, the hotline flow greets the caller and says
goodbye (the menus come with the hotline IVR); the voice-check number reads keys, then echoes
the caller's voice through the controller, which measures it. Every step is noted in the
call's trail, so tests and supervisors see what the caller went through.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from telephony.agi import AgiHangup
from telephony.audiosocket import AudioStream, frame_energy

log = logging.getLogger("ivr")

VOICED_DBFS = -45.0  # a 20 ms frame louder than this counts as speech, not line noise
ECHO_MAX_SECONDS = 20.0


class Notes(Protocol):
    def note(self, linkedid: str, kind: str, **data: Any) -> None: ...  # noqa: E704


@dataclass
class HotlineFlows:
    sounds: str  # the prompts folder as Asterisk sees it
    audiosocket_address: str  # host:port Asterisk connects to for live audio
    notes: Notes
    data: Any = None  # ivr.services.IvrData
    operators_open: Any = None  # () -> bool, in the region's time zone
    queue: Any = None  # ivr.context.QueueOptions
    latency: Any = None  # records ms from a key press to the next prompt
    clock: Any = None
    timezone: str = "Europe/Moscow"  # the region's (settings.timezone)
    operator_hours: Any = None  # () -> (schedule, next opening) | None: the after-hours preface
    identity: Any = None  # ivr.identification.IdentificationGuard
    _expected_audio: dict[uuid.UUID, str] = field(default_factory=dict)

    def routes(self) -> dict[str, Any]:
        return {"hotline": self.hotline, "hotline-callback": self.queue_callback,
                "voice-check": self.voice_check}

    @staticmethod
    def _linkedid(agi: Any) -> str:
        args = agi.env.args
        return args[0] if args and args[0] else agi.env.uniqueid

    async def hotline(self, agi: Any) -> None:
        """The hotline flow (ivr.hotline.HOTLINE), after the dialplan's disclosure."""
        from ivr.context import FlowCall, QueueOptions
        from ivr.hotline import HOTLINE

        call = FlowCall(
            agi=agi,
            linkedid=self._linkedid(agi),
            caller=_caller_number(agi.env.callerid),
            sounds=self.sounds,
            notes=self.notes,
            data=self.data,
            operators_open=self.operators_open or (lambda: False),  # no schedule: closed
            book_callback=self._book_callback,
            queue=self.queue() if callable(self.queue) else (self.queue or QueueOptions()),
            latency=self.latency,
            **({"clock": self.clock} if self.clock is not None else {}),
            timezone=self.timezone,
            operator_hours=self.operator_hours,
            identity=self.identity,
        )
        try:
            outcome = await HOTLINE.run(call)
            call.note("flow", flow="hotline", step="end", outcome=outcome)
        except AgiHangup:
            call.note("flow", flow="hotline", step="caller_hung_up")

    async def queue_callback(self, agi: Any) -> None:
        """Key 1 pressed in the operators' queue that the dialplan joined by itself (the flow
        was unavailable then, dialplans/extensions.conf.j2 [hotline-fallback]): book the
        callback the caller asked for, if the controller is back."""
        from ivr.context import FlowCall
        from ivr.hotline import _callback

        call = FlowCall(
            agi=agi, linkedid=self._linkedid(agi), caller=_caller_number(agi.env.callerid),
            sounds=self.sounds, notes=self.notes, data=self.data,
            operators_open=self.operators_open or (lambda: False), book_callback=self._book_callback,
        )
        call.note("flow", flow="hotline-callback", step="callback_from_queue")
        try:
            outcome = await _callback("ivr_queue")(call)
            if outcome == "booked":
                await call.say(["hotline:goodbye"])
            await agi.set_variable("HOTLINE_CALLBACK", outcome)
            call.note("flow", flow="hotline-callback", step="end", outcome=outcome)
        except AgiHangup:
            call.note("flow", flow="hotline-callback", step="caller_hung_up")

    async def _book_callback(self, call: Any, source: str) -> Any:
        """Book a callback; the result (ivr.services.CallbackResult) says what really happened."""
        account_id = call.account.id if call.account else None
        now = self.clock.now() if self.clock else call.now()
        result = await self.data.run(self.data.request_callback, call.caller, source, account_id,
                                     call.linkedid, now)
        call.note("callback", source=source, booked=result.booked)
        call.note("callback_result", result=result.result, order_id=result.order_id,
                  reason=result.reason)
        return result

    async def voice_check(self, agi: Any) -> None:
        linkedid = self._linkedid(agi)
        self.notes.note(linkedid, "flow", flow="voice-check", step="voice_check")
        digits = await agi.get_data(f"{self.sounds}/voice_check", 6000, 8)
        self.notes.note(linkedid, "dtmf", flow="voice-check", digits=digits)
        stream_id = uuid.uuid4()
        self._expected_audio[stream_id] = linkedid
        try:
            await agi.exec("AudioSocket", str(stream_id), self.audiosocket_address)
        finally:
            self._expected_audio.pop(stream_id, None)

    async def on_audio(self, stream: AudioStream) -> None:
        """Echo the caller's voice back and measure it (the speech path's first user)."""
        linkedid = self._expected_audio.get(stream.uuid)
        if linkedid is None:
            log.warning("audio stream %s for no flow: closing", stream.uuid)
            await stream.hangup()
            return
        frames = voiced = 0
        loudest = -math.inf
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ECHO_MAX_SECONDS
        try:
            async for frame in stream:
                pcm = getattr(frame, "pcm", None)
                if pcm is None:
                    continue
                frames += 1
                level = frame_energy(pcm)
                loudest = max(loudest, level)
                if level > VOICED_DBFS:
                    voiced += 1
                await stream.send(pcm)
                if loop.time() > deadline:
                    break
        finally:
            self.notes.note(linkedid, "audio", flow="voice-check", frames=frames, voiced_frames=voiced,
                            loudest_dbfs=None if loudest == -math.inf else round(loudest, 1))
            if not stream.closed:
                await stream.hangup()


def _caller_number(callerid: str | None) -> str:
    """The caller's number as the trunk gave it; '' when withheld."""
    value = (callerid or "").strip()
    if not value or value.lower() in ("unknown", "anonymous", "restricted", "private"):
        return ""
    return value
