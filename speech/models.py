"""Every utterance a caller spoke to the hotline, kept for audit beside its audio file.

One row per voice question that heard speech (also a partial one cut by a hangup, and one the
pool was too busy to recognise): where its audio is (a WAV under the data dir, relative
path), what was asked and expected, and what the engine and the understanding made of it.
No phone or account numbers are stored here; `linkedid` ties the row to the call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from base.db import Base, UtcDateTime

__all__ = ["SpeechUtterance"]


class SpeechUtterance(Base):
    __tablename__ = "speech_utterances"
    __table_args__ = (Index("ix_speech_utterances_linkedid", "linkedid"),
                      Index("ix_speech_utterances_created_at", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    linkedid: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(String(64))  # the flow's step that asked
    expect: Mapped[str] = mapped_column(String(16))  # speech.engine.Expect
    # how the utterance ended: end (silence), max_length, hangup
    ended_by: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(255))  # the WAV, relative to the data dir
    duration_ms: Mapped[int] = mapped_column(Integer)
    # recognition: None when it did not run (overload, engine failure, hangup)
    text: Mapped[str | None] = mapped_column(String(500))
    value: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    recognition_ms: Mapped[float | None] = mapped_column(Float)  # end of speech to result
    engine: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))  # recognised, overload, failed, hangup
