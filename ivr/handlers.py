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
    _expected_audio: dict[uuid.UUID, str] = field(default_factory=dict)

    def routes(self) -> dict[str, Any]:
        return {"hotline": self.hotline, "voice-check": self.voice_check}

    @staticmethod
    def _linkedid(agi: Any) -> str:
        args = agi.env.args
        return args[0] if args and args[0] else agi.env.uniqueid

    async def hotline(self, agi: Any) -> None:
        linkedid = self._linkedid(agi)
        self.notes.note(linkedid, "flow", flow="hotline", step="welcome")
        await agi.stream_file(f"{self.sounds}/welcome")
        self.notes.note(linkedid, "flow", flow="hotline", step="goodbye")
        await agi.stream_file(f"{self.sounds}/goodbye")

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
