"""One place joining the recognition pool, the understanding and the audit record.

Every utterance heard is kept: its audio as an 8 kHz WAV under the data dir
(``speech/YYYY/MM/DD/<linkedid>-<n>.wav``) and a `speech_utterances` row saying what was
asked, how the utterance ended and what was recognised (nothing, when the pool was too busy
or the caller hung up mid-utterance). Database and file work run in threads, off the loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from base.clock import Clock, SystemClock
from speech.audio import pcm16_to_float, to_engine_rate, write_wav
from speech.engine import Expect
from speech.models import SpeechUtterance
from speech.pool import Recognition, RecognitionPool

log = logging.getLogger("speech.service")

RATE = 8000


@dataclass(frozen=True)
class Kept:
    recognition: Recognition | None
    outcome: str  # recognised | overload | failed | hangup
    utterance_id: int | None
    path: str
    recognition_ms: float | None  # end of speech to result


class SpeechService:
    def __init__(self, pool: RecognitionPool, sessions: Any, data_dir: Path,
                 clock: Clock | None = None) -> None:
        self.pool = pool
        self.sessions = sessions
        self.data_dir = Path(data_dir)
        self.clock = clock or SystemClock()

    async def recognise_and_keep(self, *, linkedid: str, n: int, question: str, expect: Expect,
                                 context: Any, pcm: bytes, ended_by: str,
                                 speech_end_at: float | None, recognise: bool = True) -> Kept:
        """Recognise the utterance (unless `recognise` is False: a hangup) and keep it."""
        x = pcm16_to_float(pcm)
        recognition: Recognition | None = None
        outcome = "hangup"
        if recognise:
            try:
                audio = await asyncio.to_thread(to_engine_rate, x, RATE)
                recognition = await self.pool.recognize(audio, expect, context)
                outcome = "recognised" if recognition is not None else "overload"
            except Exception:  # a broken engine must not end the call
                log.exception("recognition failed (%s, %s)", question, expect)
                outcome = "failed"
        done_at = time.monotonic()
        recognition_ms = ((done_at - speech_end_at) * 1000
                          if recognition is not None and speech_end_at is not None else None)
        try:
            utterance_id, path = await asyncio.to_thread(
                self._keep, linkedid, n, question, expect, x, ended_by, recognition,
                recognition_ms, outcome)
        except Exception:  # the audit copy failing must not end the call
            log.exception("could not keep the utterance of %s (%s)", question, expect)
            utterance_id, path = None, ""
        return Kept(recognition, outcome, utterance_id, path, recognition_ms)

    def _keep(self, linkedid: str, n: int, question: str, expect: Expect, x: np.ndarray,
              ended_by: str, rec: Recognition | None, recognition_ms: float | None,
              outcome: str) -> tuple[int, str]:
        now = self.clock.now()
        folder = Path("speech") / f"{now:%Y}" / f"{now:%m}" / f"{now:%d}"
        safe = "".join(ch for ch in linkedid if ch.isalnum() or ch in ".-_") or "call"
        rel = folder / f"{safe}-{n}.wav"
        k = 1
        while (self.data_dir / rel).exists():  # a second run of the same call id
            k += 1
            rel = folder / f"{safe}-{n}-{k}.wav"
        (self.data_dir / folder).mkdir(parents=True, exist_ok=True)
        write_wav(self.data_dir / rel, x, RATE)
        row = SpeechUtterance(
            created_at=now, linkedid=linkedid[:64], question=question[:64], expect=str(expect),
            ended_by=ended_by, path=str(rel), duration_ms=int(len(x) * 1000 / RATE),
            text=rec.text[:500] if rec else None, value=rec.value[:64] if rec and rec.value else None,
            confidence=rec.confidence if rec else None, recognition_ms=recognition_ms,
            engine=rec.engine if rec else None, outcome=outcome,
        )
        with self.sessions.begin() as s:
            s.add(row)
            s.flush()
            return row.id, str(rel)

    def close(self) -> None:
        self.pool.close()
