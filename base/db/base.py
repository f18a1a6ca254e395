"""The declarative base shared by every domain's models, with explicit constraint names.

Named constraints keep migrations reproducible: PostgreSQL would otherwise invent names
(``accounts_number_key``) that a later migration cannot reliably refer to, and SQLite's
batch mode needs names to drop or alter a constraint at all.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of all ORM models; ``Base.metadata`` is what Alembic compares against.

    Import :mod:`hotline.db.models` (not just one domain's models) to get every table.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
