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

from speech.listen import Listened, Question, hear
from speech.vad import VadConfig
from telephony.agi import AgiHangup
from telephony.audiosocket import AudioStream, frame_energy

log = logging.getLogger("ivr")

VOICED_DBFS = -45.0  # a 20 ms frame louder than this counts as speech, not line noise
ECHO_MAX_SECONDS = 20.0


class Notes(Protocol):
    def note(self, linkedid: str, kind: str, **data: Any) -> None: ...  # noqa: E704


# end-of-speech silence by what is expected (speech.engine.Expect values)
END_SILENCE_MS = {"reading": 800, "number": 800, "intent": 700, "yesno": 500}
STREAM_CONNECT_S = 0.2  # AudioSocket returned and its stream never came: waited this long
STREAM_FINISH_S = 5.0  # the stream connected: its session ends this soon after AudioSocket


@dataclass
class _Waiting:
    question: Question
    result: asyncio.Future[Listened]
    connected: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class VoiceQuestions:
    """Voice questions in progress, by AudioSocket stream id: the AGI side starts Asterisk's
    AudioSocket towards the controller, the audio side (`serve`, from the one AudioSocket
    server) plays the prompt and listens (speech.listen), then hangs the stream up so the AGI
    flow goes on.

    `service` (speech.service.SpeechService) is None when speech is off or no engine could be
    loaded (`reason` says why): voice questions are then asked with the keypad only.
    """

    address: str  # host:port Asterisk connects to
    prompts: Any = None  # speech.prompt_audio.PromptAudio
    service: Any = None
    reason: str = "speech is not set up"
    vad: VadConfig = field(default_factory=VadConfig)
    _waiting: dict[uuid.UUID, _Waiting] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.service is not None and self.prompts is not None

    def vad_for(self, expect: str) -> VadConfig:
        """The endpointer for what is expected: a yes or no ends sooner than a reading, where
        callers pause between the groups of digits."""
        from dataclasses import replace

        return replace(self.vad, end_silence_ms=END_SILENCE_MS.get(str(expect),
                                                                   self.vad.end_silence_ms))

    def ready(self, service: Any) -> None:
        self.service = service
        self.reason = ""

    async def ask(self, agi: Any, question: Question) -> Listened | None:
        """One question over AudioSocket; None when the stream never came (keys instead).
        Raises AgiHangup when the caller hung up, after the stream's session has ended."""
        stream_id = uuid.uuid4()
        waiting = _Waiting(question, asyncio.get_running_loop().create_future())
        self._waiting[stream_id] = waiting
        hung_up: AgiHangup | None = None
        try:
            try:
                await agi.exec("AudioSocket", str(stream_id), self.address)
            except AgiHangup as exc:
                hung_up = exc
            if not waiting.connected.is_set():
                try:
                    await asyncio.wait_for(waiting.connected.wait(),
                                           STREAM_CONNECT_S if hung_up is None else 0.05)
                except TimeoutError:
                    if hung_up is not None:
                        raise hung_up from None
                    log.error("voice question: AudioSocket %s never connected", stream_id)
                    return None
            try:
                listened = await asyncio.wait_for(asyncio.shield(waiting.result), STREAM_FINISH_S)
            except TimeoutError:
                log.error("voice question: stream %s did not finish", stream_id)
                if hung_up is not None:
                    raise hung_up from None
                return None
            return listened
        finally:
            self._waiting.pop(stream_id, None)

    async def serve(self, stream: AudioStream) -> bool:
        """Run the question `stream` belongs to; False when it belongs to none."""
        waiting = self._waiting.get(stream.uuid)
        if waiting is None:
            return False
        waiting.connected.set()
        try:
            listened = await hear(stream, waiting.question)
        except Exception as exc:
            if not waiting.result.done():
                waiting.result.set_exception(exc)
            raise
        if not waiting.result.done():
            waiting.result.set_result(listened)
        return True


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
    voice: VoiceQuestions | None = None  # voice questions (FlowCall.listen)
    faq: Any = None  # ivr.faq.FaqStore: FAQ answers for the Smart IVR
    test_routes: bool = False  # test stacks: the flows only tests reach
    _expected_audio: dict[uuid.UUID, str] = field(default_factory=dict)

    def routes(self) -> dict[str, Any]:
        routes = {"hotline": self.hotline, "hotline-callback": self.queue_callback,
                  "voice-check": self.voice_check}
        if self.test_routes:
            routes["speech-test"] = self.speech_test
        return routes

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
            voice=self.voice,
            faq=self.faq,
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

    async def speech_test(self, agi: Any) -> None:
        """Test stacks only (dialplans/extensions_test.conf.j2, 8809): voice questions in a row
        until the caller hangs up or is silent, each result noted, then goodbye."""
        from ivr.context import FlowCall
        from speech.engine import Expect

        call = FlowCall(
            agi=agi, linkedid=self._linkedid(agi), caller=_caller_number(agi.env.callerid),
            sounds=self.sounds, notes=self.notes, data=self.data,
            operators_open=lambda: False, book_callback=self._book_callback, voice=self.voice,
        )
        expect = Expect(agi.env.args[1]) if len(agi.env.args) > 1 and agi.env.args[1] else \
            Expect.READING
        try:
            for n in range(1, 4):
                call.note("flow", flow="speech-test", step=f"question_{n}")
                heard = await call.listen(["hotline:disclosure"], expect, max_digits=4,
                                          timeout_ms=3000)
                call.note("heard", flow="speech-test", n=n, heard=heard.kind, keys=heard.keys,
                          value=heard.value, utterance_id=heard.utterance_id)
                if heard.kind == "no_input":
                    break
            await call.say(["hotline:goodbye"])
            call.note("flow", flow="speech-test", step="end")
        except AgiHangup:
            call.note("flow", flow="speech-test", step="caller_hung_up")

    async def on_audio(self, stream: AudioStream) -> None:
        """A voice question's stream (VoiceQuestions), or the voice check: echo the caller's
        voice back and measure it."""
        if self.voice is not None and await self.voice.serve(stream):
            return
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
