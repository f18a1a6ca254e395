"""The endpointer: where a caller's utterance starts and ends, over 20 ms telephone frames.

Pure logic over 8 kHz signed 16-bit frames (what AudioSocket delivers), no I/O. `feed` one
frame at a time; it returns an event when something happens:

- ``START``: speech began (enough voiced frames within a short window). While the prompt is
  still playing (``playing=True``) the bar is higher — a louder level, a longer run, and none
  in the first moments of the prompt — so the prompt's own echo on the line does not stop it.
- ``END``: end-of-speech silence after speech.
- ``MAX_LENGTH``: the utterance reached its longest allowed length.
- ``NO_INPUT``: no speech within the no-input timeout, counted from `arm()` (the end of the
  prompt, as Asterisk's Read counts it).

A frame is voiced when its level is above an adaptive noise floor by a margin, and above an
absolute minimum. The floor follows the line's noise in the pauses: quickly down, slowly up,
never during speech.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

FRAME_MS = 20
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
FRAME_BYTES = FRAME_SAMPLES * 2

START = "start"
END = "end"
MAX_LENGTH = "max_length"
NO_INPUT = "no_input"

SILENT_DBFS = -96.0  # digital silence, instead of -inf


@dataclass(frozen=True)
class VadConfig:
    end_silence_ms: int = 800  # silence that ends an utterance
    max_speech_ms: int = 12000  # the longest utterance kept
    no_input_ms: int = 5000  # nothing said this long after arm(): no input
    min_speech_dbfs: float = -45.0  # never voiced below this, whatever the floor
    floor_margin_db: float = 12.0  # voiced: this far above the noise floor
    onset_window_ms: int = 200  # speech starts when this window holds
    onset_ms: int = 120  # ... this much voiced audio
    # while the prompt plays (barge-in): louder, longer, and not in the prompt's first moments
    barge_margin_db: float = 6.0
    barge_onset_ms: int = 200
    barge_holdoff_ms: int = 300
    initial_floor_dbfs: float = -60.0


def frame_dbfs(pcm: bytes) -> float:
    """RMS level of signed 16-bit little-endian audio, in dBFS (SILENT_DBFS for silence)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return SILENT_DBFS
    mean_square = float(np.mean(samples * samples))
    if mean_square <= 0:
        return SILENT_DBFS
    return max(SILENT_DBFS, 10 * math.log10(mean_square / (32768.0 * 32768.0)))


class Endpointer:
    """One question's endpointing; feed frames in order."""

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        c = self.config
        self.floor = c.initial_floor_dbfs
        self.frames = 0  # frames fed
        self.speaking = False
        self.ended = False
        self.speech_frames = 0  # frames since speech started
        self._window: deque[bool] = deque(maxlen=max(1, c.onset_window_ms // FRAME_MS))
        self._silence = 0  # consecutive unvoiced frames during speech
        self._armed_at: int | None = None
        self._playing_frames = 0  # frames fed while the prompt played

    @property
    def trailing_silence_ms(self) -> int:
        """Silence since the last voiced frame of the utterance (what END waited for)."""
        return self._silence * FRAME_MS if self.speaking else 0

    @property
    def threshold(self) -> float:
        c = self.config
        return max(c.min_speech_dbfs, self.floor + c.floor_margin_db)

    def arm(self) -> None:
        """Start the no-input clock (the prompt has ended); idempotent."""
        if self._armed_at is None:
            self._armed_at = self.frames

    def feed(self, pcm: bytes, playing: bool = False) -> str | None:
        if self.ended:
            return None
        c = self.config
        self.frames += 1
        level = frame_dbfs(pcm)
        if not self.speaking:
            return self._before_speech(level, playing)
        self.speech_frames += 1
        if level > self.threshold:
            self._silence = 0
        else:
            self._silence += 1
        if self._silence * FRAME_MS >= c.end_silence_ms:
            self.ended = True
            return END
        if self.speech_frames * FRAME_MS >= c.max_speech_ms:
            self.ended = True
            return MAX_LENGTH
        return None

    def _before_speech(self, level: float, playing: bool) -> str | None:
        c = self.config
        if playing:
            self._playing_frames += 1
            bar = self.threshold + c.barge_margin_db
            needed = c.barge_onset_ms
            allowed = self._playing_frames * FRAME_MS > c.barge_holdoff_ms
        else:
            bar = self.threshold
            needed = c.onset_ms
            allowed = True
        voiced = level > bar
        self._window.append(voiced)
        if allowed and sum(self._window) * FRAME_MS >= needed:
            self.speaking = True
            self.speech_frames = sum(self._window)
            self._silence = 0
            return START
        if not voiced:
            self._adapt(level)
        if self._armed_at is not None and (self.frames - self._armed_at) * FRAME_MS >= c.no_input_ms:
            self.ended = True
            return NO_INPUT
        return None

    def _adapt(self, level: float) -> None:
        # Down fast (a quiet line is believed at once), up slowly (speech-like noise is not).
        rate = 0.3 if level < self.floor else 0.02
        self.floor = max(-90.0, self.floor + rate * (level - self.floor))
