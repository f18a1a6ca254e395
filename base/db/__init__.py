"""Database core shared by all domains: the declarative base, engines, sessions, column types.

Every domain keeps its tables in its own ``models`` module; the application's
:mod:`hotline.db.models` imports them all for Alembic. Timestamps are timezone-aware UTC
(:class:`UtcDateTime`).
"""

from base.db.base import NAMING_CONVENTION, Base
from base.db.engine import make_engine, make_session_factory, wait_until_ready
from base.db.types import StrEnumType, UtcDateTime, enum_check, utcnow

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "StrEnumType",
    "UtcDateTime",
    "enum_check",
    "make_engine",
    "make_session_factory",
    "utcnow",
    "wait_until_ready",
]
