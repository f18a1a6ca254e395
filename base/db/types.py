"""Column types used across domains."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import CheckConstraint, DateTime, Dialect, String
from sqlalchemy.types import TypeDecorator

__all__ = ["StrEnumType", "UtcDateTime", "enum_check", "utcnow"]


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (tzinfo=UTC).

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the value is stored as
    naive UTC and the zone is put back on the way out. Naive datetimes are refused on the
    way in: whether they meant local or UTC time cannot be known, and guessing is how call
    records end up three hours off.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UtcDateTime expects a datetime, got {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value!r}: pass a timezone-aware value "
                "(e.g. datetime.now(UTC) or hotline.db.utcnow())"
            )
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


E = TypeVar("E", bound=enum.StrEnum)


class StrEnumType(TypeDecorator[E]):
    """A :class:`enum.StrEnum` stored as its value in a VARCHAR (no native database enum).

    Plain strings equal to a member's value are accepted on the way in; members come out.
    Pair it with :func:`enum_check` so the database refuses other values as well.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[E], length: int = 16) -> None:
        longest = max(len(member.value) for member in enum_class)
        if longest > length:
            raise ValueError(f"{enum_class.__name__} has a value longer than {length}")
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum_class(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self.enum_class(value)


def enum_check(name: str, column: str, enum_class: type[enum.StrEnum]) -> CheckConstraint:
    """``CHECK (column IN (...))`` listing the enum's values, named ``ck_<table>_<name>``."""
    values = ", ".join("'" + member.value.replace("'", "''") + "'" for member in enum_class)
    return CheckConstraint(f"{column} IN ({values})", name=name)
