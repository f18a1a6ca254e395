"""Personal data does not leak through the database layer: bound values stay out of errors."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

PHONE = "+79991234567"


def test_a_failed_statement_does_not_show_its_parameters(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="sqlalchemy"):
        with pytest.raises(SQLAlchemyError) as caught:
            with engine.begin() as connection:
                connection.execute(
                    text("INSERT INTO account_phones (account_id, phone, kind) VALUES (:a, :p, :k)"),
                    {"a": 999_999, "p": PHONE, "k": "no-such-kind"},
                )
    assert "9991234567" not in str(caught.value)
    assert "9991234567" not in repr(caught.value)
    assert "9991234567" not in caplog.text
