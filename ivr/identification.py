"""Identification by knowledge, with attempts limited across calls.

A caller ID proves nothing (it can be forged), so the caller proves knowledge of the account
(000 §2.6.6: the account number): the last four digits of the account matched by their
number, or the whole account number. Nothing of the account is read out before that.

Rules kept here:
- A wrong guess is counted against the caller's number and against every account the guess
  was about (the accounts on that number, for last digits). ``max_failures`` wrong guesses
  within ``window`` lock that number, or that account, out of identification by phone for
  ``lock_for``; the count starts again after a success or after a lockout.
- Locked out means refused, even with the right digits; the caller is told so and offered
  the operator (in hours) or a callback.
- The database is the truth: every attempt and every lockout is a row (:mod:`ivr.models`);
  the caller's number only as an HMAC under a server secret.
- Time comes from the injected clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from base.clock import Clock
from base.privacy import mask_phone
from ivr.models import IdentificationAttempt, IdentificationLockout, IdMethod, IdResult, IdSubject

__all__ = [
    "TAIL_DIGITS",
    "IdPolicy",
    "IdentificationGuard",
    "Lockout",
    "caller_key",
    "failures_since",
    "match_tail",
    "policy_from",
]

TAIL_DIGITS = 4


@dataclass(frozen=True)
class IdPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(hours=24)
    lock_for: timedelta = timedelta(hours=24)


def policy_from(doc: Mapping[str, Any] | None) -> IdPolicy:
    """The admin's document ``identification`` ({max_failures, window_hours, lock_hours})."""
    doc = doc or {}
    default = IdPolicy()
    return IdPolicy(
        max_failures=max(1, int(doc.get("max_failures", default.max_failures))),
        window=timedelta(hours=float(doc.get("window_hours", default.window / timedelta(hours=1)))),
        lock_for=timedelta(hours=float(doc.get("lock_hours", default.lock_for / timedelta(hours=1)))),
    )


@dataclass(frozen=True)
class Lockout:
    subject: IdSubject
    until: datetime
    created: bool  # tripped by this attempt (False: it was already in force)


# ---- pure rules -----------------------------------------------------------------------------


def caller_key(secret: bytes, phone: str) -> str | None:
    """The caller's number as stored: an HMAC of its E.164 form ('' or withheld: None)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not digits:
        return None
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    elif len(digits) == 10:
        digits = "7" + digits
    return hmac.new(secret, f"identification:+{digits}".encode(), hashlib.sha256).hexdigest()


def match_tail(numbers: Mapping[int, str], keyed: str) -> int | None:
    """The one account (id) among ``numbers`` whose number ends with the keyed last digits."""
    if len(keyed) != TAIL_DIGITS or not keyed.isdigit():
        return None
    found = [account_id for account_id, number in numbers.items() if number.endswith(keyed)]
    return found[0] if len(found) == 1 else None


def failures_since(now: datetime, policy: IdPolicy, last_lock: datetime | None) -> datetime:
    """Wrong attempts after this moment count: the window, cut at the last lockout (and, by
    row order, at the last success: see `count_failures`)."""
    since = now - policy.window
    if last_lock is not None and last_lock > since:
        since = last_lock
    return since


# ---- the database ---------------------------------------------------------------------------


def _subject_filter(model: Any, subject: IdSubject, key: str | int) -> Any:
    return model.caller_key == key if subject == IdSubject.PHONE else model.account_id == key


def active_lockout(session: Session, now: datetime, key: str | None,
                   account_ids: Iterable[int]) -> IdentificationLockout | None:
    conditions = []
    if key is not None:
        conditions.append((IdentificationLockout.subject == IdSubject.PHONE)
                          & (IdentificationLockout.caller_key == key))
    ids = list(account_ids)
    if ids:
        conditions.append((IdentificationLockout.subject == IdSubject.ACCOUNT)
                          & IdentificationLockout.account_id.in_(ids))
    if not conditions:
        return None
    return session.scalar(
        select(IdentificationLockout)
        .where(or_(*conditions), IdentificationLockout.until > now)
        .order_by(IdentificationLockout.until.desc())
        .limit(1)
    )


def count_failures(session: Session, now: datetime, policy: IdPolicy, subject: IdSubject,
                   key: str | int) -> int:
    """Wrong attempts of this number or account in the window, after its last success (by
    row order: a success and a guess in the same second are told apart) and its last lockout."""
    A, L = IdentificationAttempt, IdentificationLockout
    last_ok = session.scalar(select(func.max(A.id)).where(_subject_filter(A, subject, key),
                                                          A.result == IdResult.OK)) or 0
    last_lock = session.scalar(select(func.max(L.locked_at)).where(
        _subject_filter(L, subject, key), L.subject == subject))
    since = failures_since(now, policy, _aware(last_lock))
    return int(session.scalar(select(func.count(A.id)).where(
        _subject_filter(A, subject, key), A.result == IdResult.WRONG, A.at > since,
        A.id > last_ok)) or 0)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)  # aggregates on SQLite come back without the type


class IdentificationGuard:
    """Checks and records identification attempts; one per controller.

    ``policy`` is read at each use (an admin document through the config cache), so a change
    takes effect without a restart.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, secret: bytes,
                 policy: Callable[[], IdPolicy] = IdPolicy) -> None:
        if not secret:
            raise ValueError("identification needs a secret to key callers' numbers")
        self.sessions = sessions
        self.clock = clock
        self.secret = secret
        self.policy = policy

    # -- async edges for the flows (queries run in a worker thread) ------------------------

    async def locked(self, phone: str, account_ids: Sequence[int]) -> Lockout | None:
        return await asyncio.to_thread(self.locked_now, phone, account_ids)

    async def record(self, phone: str, linkedid: str, method: IdMethod, result: IdResult,
                     account_ids: Sequence[int] = ()) -> Lockout | None:
        return await asyncio.to_thread(self.record_now, phone, linkedid, method, result, account_ids)

    # -- synchronous -----------------------------------------------------------------------

    def locked_now(self, phone: str, account_ids: Sequence[int]) -> Lockout | None:
        now = self.clock.now()
        with self.sessions() as s:
            lock = active_lockout(s, now, caller_key(self.secret, phone), account_ids)
            return None if lock is None else Lockout(lock.subject, _aware(lock.until) or now, False)

    def record_now(self, phone: str, linkedid: str, method: IdMethod, result: IdResult,
                   account_ids: Sequence[int] = ()) -> Lockout | None:
        """Store one attempt; a wrong one may trip a lockout, which is stored and returned."""
        now = self.clock.now()
        policy = self.policy()
        key = caller_key(self.secret, phone)
        masked = mask_phone(phone) if phone else None
        with self.sessions.begin() as s:
            for account_id in account_ids or [None]:
                s.add(IdentificationAttempt(at=now, caller_key=key, caller_masked=masked,
                                            account_id=account_id, method=method, result=result,
                                            linkedid=linkedid))
            if result != IdResult.WRONG:
                return None
            s.flush()
            subjects: list[tuple[IdSubject, str | int]] = [(IdSubject.ACCOUNT, a) for a in account_ids]
            if key is not None:
                subjects.insert(0, (IdSubject.PHONE, key))
            tripped: Lockout | None = None
            for subject, subject_key in subjects:
                failures = count_failures(s, now, policy, subject, subject_key)
                if failures < policy.max_failures:
                    continue
                until = now + policy.lock_for
                s.add(IdentificationLockout(
                    subject=subject, locked_at=now, until=until, failures=failures, linkedid=linkedid,
                    caller_key=key, caller_masked=masked,
                    account_id=subject_key if subject == IdSubject.ACCOUNT else None,
                ))
                tripped = tripped or Lockout(subject, until, True)
            return tripped
