"""Database access shared by all domains: the declarative base, engines, sessions, migrations.

Every domain keeps its tables in its own ``models`` module; :mod:`hotline.db.models` imports
them all, and is what Alembic compares against. Timestamps are timezone-aware UTC
(:class:`UtcDateTime`).
"""

from hotline.db.base import NAMING_CONVENTION, Base
from hotline.db.engine import make_engine, make_session_factory, wait_until_ready
from hotline.db.migrate import MIGRATIONS_DIR, alembic_config, upgrade
from hotline.db.types import StrEnumType, UtcDateTime, enum_check, utcnow

__all__ = [
    "MIGRATIONS_DIR",
    "NAMING_CONVENTION",
    "Base",
    "StrEnumType",
    "UtcDateTime",
    "alembic_config",
    "enum_check",
    "make_engine",
    "make_session_factory",
    "upgrade",
    "utcnow",
    "wait_until_ready",
]
