"""One voice question over one AudioSocket stream: play the prompt, hear the answer.

The controller plays the prompt itself, paced at real time (20 ms frames, never more than
`LEAD_S` ahead, so stopping it takes effect at once), and listens at the same time:

- speech over the prompt stops it (barge-in; the endpointer's higher bar while playing keeps
  the prompt's own echo from doing so);
- a key stops it too and turns the question into a keypad one, ended like Asterisk's Read:
  `max_digits` keys, '#', or no further key within the timeout;
- the utterance ends at end-of-speech silence or its maximum length; no speech and no key
  within the timeout after the prompt is no input;
- the caller hanging up ends it, with whatever was said so far.

Asterisk forwards the caller's audio only as it arrives: a phone that sends nothing in its
pauses (or a test caller between its sounds) sends no frames, so time is kept by the clock as
well — missing frames count as silence.

When the question is over the stream gets the hangup frame, so the AGI flow continues.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from speech.vad import (
    END,
    FRAME_BYTES,
    FRAME_MS,
    MAX_LENGTH,
    NO_INPUT,
    START,
    Endpointer,
    VadConfig,
)

log = logging.getLogger("speech.listen")

LEAD_S = 0.06  # how far playback may run ahead of real time
PREROLL_FRAMES = 15  # 300 ms kept before speech start (the onset window plus a margin)
SILENT_FRAME = bytes(FRAME_BYTES)
CATCH_UP_S = 0.1  # no frame for this long: the clock's silence is fed to the endpointer


@dataclass
class Question:
    prompt: bytes  # 8 kHz signed 16-bit PCM
    max_digits: int = 1
    timeout_ms: int = 5000
    vad: VadConfig = field(default_factory=VadConfig)


@dataclass
class Listened:
    kind: str  # speech | keys | no_input | hangup
    keys: str = ""
    audio: bytes = b""  # the utterance, 8 kHz signed 16-bit (partial when hung up)
    ended_by: str = ""  # end | max_length | keys | key_timeout | no_input | hangup
    prompt_ms: int = 0  # the prompt's length
    played_ms: int = 0  # how much of it was sent before it stopped
    barged_in: bool = False  # speech (or a key) stopped the prompt early
    speech_end_at: float | None = None  # monotonic time of the utterance's last voiced frame
    frames_in: int = 0


async def hear(stream: Any, question: Question) -> Listened:
    """Run one question on `stream` (telephony.audiosocket.AudioStream) and end it."""
    session = _Session(stream, question)
    try:
        return await session.run()
    finally:
        await session.finish()


class _Session:
    def __init__(self, stream: Any, question: Question) -> None:
        self.stream = stream
        self.q = question
        cfg = question.vad
        self.vad = Endpointer(VadConfig(**{**cfg.__dict__, "no_input_ms": question.timeout_ms}))
        self.frames = [question.prompt[i:i + FRAME_BYTES]
                       for i in range(0, len(question.prompt), FRAME_BYTES)]
        if self.frames and len(self.frames[-1]) < FRAME_BYTES:
            self.frames[-1] = self.frames[-1] + bytes(FRAME_BYTES - len(self.frames[-1]))
        self.sent = 0
        self.stop_playing = asyncio.Event()
        self.prompt_done = asyncio.Event()
        self.preroll: deque[bytes] = deque(maxlen=PREROLL_FRAMES)
        self.utterance = bytearray()
        self.keys = ""
        self.last_key_at = 0.0
        self.barged_in = False
        self.frames_in = 0
        self._player: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._finished = False  # set by finish(): the player stops even if a cancel is lost

    # -- playing ---------------------------------------------------------------------------

    async def _play(self) -> None:
        """The prompt, then silence, each frame on time until the question ends.

        Silence is sent too: Asterisk's AudioSocket application gives up (and hangs the call
        up) after 2 s with no frame either way, and a caller's phone may send none."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        i = 0
        try:
            # Not `while True`: on Python 3.11 a cancel that lands as stop_playing completes
            # the wait_for below is swallowed, and the player would send silence forever.
            while not self._finished:
                delay = start + i * FRAME_MS / 1000 - LEAD_S - loop.time()
                if delay > 0 and self.playing:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stop_playing.wait(), delay)
                elif delay > 0:
                    await asyncio.sleep(delay)
                if self.playing and i < len(self.frames):
                    await self.stream.send(self.frames[i])
                    self.sent += 1
                else:
                    if not self.prompt_done.is_set() and (
                            self.stop_playing.is_set()
                            or loop.time() >= start + len(self.frames) * FRAME_MS / 1000):
                        self.prompt_done.set()  # stopped, or its last frame has been heard
                    await self.stream.send(SILENT_FRAME)
                i += 1
        except Exception as exc:  # noqa: BLE001 - the stream closed: the reader sees it too
            log.debug("playback ended: %s", exc)
        finally:
            self.prompt_done.set()

    @property
    def playing(self) -> bool:
        return not self.prompt_done.is_set() and not self.stop_playing.is_set()

    # -- reading ---------------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for frame in self.stream:
                await self._inbox.put(frame)
        except Exception as exc:  # noqa: BLE001 - a broken stream is a hangup here
            log.warning("audiosocket %s: %s", getattr(self.stream, "uuid", "?"), exc)
        finally:
            await self._inbox.put(None)

    async def run(self) -> Listened:
        loop = asyncio.get_running_loop()
        self._player = asyncio.create_task(self._play())
        self._reader = asyncio.create_task(self._read())
        clock_start = loop.time()
        armed = False
        while True:
            if not armed and not self.playing:
                armed = True
                self.vad.arm()
            try:
                frame = await asyncio.wait_for(self._inbox.get(), CATCH_UP_S)
            except TimeoutError:
                frame = "tick"
            if frame is None:  # the caller hung up (or the stream broke)
                return self._result("hangup", "hangup")
            digit = getattr(frame, "digit", None)
            if digit is not None:
                result = self._key(digit, loop.time())
                if result is not None:
                    return result
                continue
            if self.keys:  # a keypad question now: Read's timeout between keys
                if loop.time() - self.last_key_at >= self.q.timeout_ms / 1000:
                    return self._result("keys", "key_timeout")
                continue
            if frame == "tick":
                # No frames for a while: the clock's silence, up to now.
                behind = int((loop.time() - clock_start) * 1000 / FRAME_MS) - self.vad.frames
                pcm_frames = [SILENT_FRAME] * max(0, behind)
            else:
                pcm = getattr(frame, "pcm", None)
                if pcm is None:
                    continue
                self.frames_in += 1
                pcm_frames = [pcm[i:i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
            for pcm in pcm_frames:
                result = self._audio(pcm, loop.time())
                if result is not None:
                    return result

    def _audio(self, pcm: bytes, now: float) -> Listened | None:
        if len(pcm) < FRAME_BYTES:
            pcm = pcm + bytes(FRAME_BYTES - len(pcm))
        was_playing = self.playing
        event = self.vad.feed(pcm, playing=was_playing)
        if self.vad.speaking or event in (END, MAX_LENGTH):
            self.utterance += pcm
        else:
            self.preroll.append(pcm)
        if event == START:
            self.utterance = bytearray(b"".join(self.preroll)) + self.utterance[-FRAME_BYTES:]
            self.preroll.clear()
            if was_playing:
                self.barged_in = True
                self.stop_playing.set()
        elif event in (END, MAX_LENGTH):
            # the end of speech is the last voiced frame, not the endpointer's decision
            return self._result("speech", event,
                                speech_end_at=now - self.vad.trailing_silence_ms / 1000)
        elif event == NO_INPUT:
            return self._result("no_input", "no_input")
        return None

    def _key(self, digit: str, now: float) -> Listened | None:
        if self.playing:
            self.barged_in = True
        self.stop_playing.set()
        self.utterance.clear()  # keys win over whatever was heard
        self.last_key_at = now
        if digit == "#":
            return self._result("keys" if self.keys else "no_input", "keys")
        self.keys += digit
        if len(self.keys) >= self.q.max_digits:
            return self._result("keys", "keys")
        return None

    def _result(self, kind: str, ended_by: str, speech_end_at: float | None = None) -> Listened:
        if kind == "hangup" and self.keys:
            audio = b""
        else:
            audio = bytes(self.utterance) if (kind in ("speech", "hangup")) else b""
        return Listened(
            kind=kind, keys=self.keys, audio=audio, ended_by=ended_by,
            prompt_ms=len(self.frames) * FRAME_MS, played_ms=self.sent * FRAME_MS,
            barged_in=self.barged_in, speech_end_at=speech_end_at, frames_in=self.frames_in,
        )

    async def finish(self) -> None:
        """Stop playing, send the hangup frame (the AGI flow goes on) and stop reading."""
        self.stop_playing.set()
        self._finished = True
        for task in (self._player, self._reader):
            if task is not None and not task.done():
                task.cancel()
        await asyncio.gather(*(t for t in (self._player, self._reader) if t is not None),
                             return_exceptions=True)
        if not self.stream.closed:
            await self.stream.hangup()
