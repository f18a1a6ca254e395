"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from base.db import make_engine
from hotline.db import alembic_config, upgrade
from hotline.db.models import metadata


def _differences(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_migrations_match_models(db_url: str) -> None:
    upgrade(db_url)
    assert _differences(db_url) == []


def test_upgrade_is_idempotent_and_stamps_head(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == head
    finally:
        engine.dispose()


def test_downgrade_to_base_and_back(db_url: str) -> None:
    upgrade(db_url)
    command.downgrade(alembic_config(db_url), "base")
    engine = make_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(db_url)
    assert _differences(db_url) == []


def test_every_table_of_every_domain_is_known() -> None:
    expected = {"accounts", "account_phones", "meters", "meter_readings", "calls", "call_events"}
    assert expected <= set(metadata.tables)


def test_constraints_and_indexes_have_conventional_names() -> None:
    for table in metadata.tables.values():
        for constraint in table.constraints:
            assert constraint.name, f"unnamed constraint on {table.name}"
            assert str(constraint.name).split("_")[0] in {"pk", "fk", "uq", "ck"}
        for index in table.indexes:
            assert str(index.name).startswith(f"ix_{table.name}_")


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_each_test_gets_its_own_postgresql_schema(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            schema = connection.scalar(text("SELECT current_schema()"))
            tables = connection.scalars(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            ).all()
    finally:
        engine.dispose()
    assert str(schema).startswith("t_")
    assert "accounts" in tables
