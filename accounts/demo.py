"""Demo accounts for the development stack and the tests.

Ten accounts in several regions and time zones, built from the sample file
``accounts/samples/accounts_demo.csv`` (so the README's import example and the demo agree).
Account *N* has the phone ``+7999000000N`` (``+79990000010`` for the tenth): the
loopback test caller endpoints present those numbers, so a test call from callerN is
recognised as that account. There are meters of every tariff with last readings, balances
with debts (negative), zero and advance payments, and sums chosen for speaking tests
("1 рубль 1 копейка", "21 рубль 21 копейка").
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from accounts.adapters import CsvSource
from accounts.service import ImportReport, upsert_accounts

__all__ = ["DEMO_CSV", "DEMO_PHONES", "DEMO_SOURCE", "seed_demo"]

DEMO_CSV = Path(__file__).resolve().parent / "samples" / "accounts_demo.csv"
DEMO_SOURCE = "demo"
# The caller ids of the test endpoints, in account order.
DEMO_PHONES: tuple[str, ...] = tuple(f"+7999{n:07d}" for n in range(1, 11))


def seed_demo(session: Session) -> ImportReport:
    """Create or refresh the demo accounts; running it again changes nothing. No commit."""
    report = upsert_accounts(session, CsvSource(DEMO_CSV, name=DEMO_SOURCE).records())
    if report.rejected:  # the shipped file is wrong: fail loudly, it is our bug
        raise RuntimeError("demo accounts file has errors: " + "; ".join(map(str, report.rejected)))
    return report
