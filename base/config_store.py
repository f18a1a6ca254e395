"""Settings an admin changes while the system runs (working hours, holidays, limits).

Kept in the database as named JSON documents with who changed them and when; readers cache
them for a few seconds, so a change takes effect without a restart and without a database
query per call.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from base.db import Base, UtcDateTime, utcnow

JsonDocument = JSON().with_variant(JSONB(), "postgresql")


class ConfigEntry(Base):
    __tablename__ = "config_entries"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64))


def read(session: Session, key: str) -> dict[str, Any] | None:
    entry = session.get(ConfigEntry, key)
    return None if entry is None else dict(entry.value)


def write(session: Session, key: str, value: dict[str, Any], actor: str) -> None:
    entry = session.get(ConfigEntry, key)
    if entry is None:
        session.add(ConfigEntry(key=key, value=value, updated_by=actor))
    else:
        entry.value = value
        entry.updated_by = actor
        entry.updated_at = utcnow()


class CachedConfig:
    """Reads one key through a short cache (default 5 s)."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 5.0) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        with self.sessions() as s:
            value = read(s, key)
        self._cache[key] = (time.monotonic(), value)
        return value

    def invalidate(self) -> None:
        self._cache.clear()


__all__ = ["CachedConfig", "ConfigEntry", "read", "write"]
