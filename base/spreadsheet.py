"""Cells of files people open in a spreadsheet (CSV exports), made safe to open.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is taken as a
formula by Excel and LibreOffice (CSV injection: ``=HYPERLINK(...)`` in a caller's name or a
meter serial runs when the file is opened). Such a cell gets a leading apostrophe, which the
spreadsheet shows as text; every other value is written as it is. Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["FORMULA_STARTS", "safe_cell", "safe_row"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """``value`` as CSV text; a text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def safe_row(values: Iterable[Any]) -> list[str]:
    return [safe_cell(value) for value in values]
