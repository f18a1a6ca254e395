"""Shared database fixtures (tests/db_fixtures.py): db_url, engine, session_factory, session."""

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from db_fixtures import *  # noqa: E402,F401,F403
