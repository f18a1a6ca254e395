"""The lifecycle of a callback order, as one table. Pure: no I/O.

Rules it keeps:
- new -> scheduled: the order is queued with its due time.
- scheduled -> dialing: a dialer claimed it (only one can: the database checks the state).
- dialing -> done: the customer answered and was connected to an operator.
- dialing -> no_answer: the customer did not answer (busy, no answer, unreachable).
- no_answer -> scheduled: tried again after the retry delay, while attempts remain;
  no_answer -> failed: the last attempt went unanswered.
- dialing -> scheduled: no operator could take it (all busy, nobody answered), or the
  dialer was lost mid-attempt; no attempt is counted, it is queued again shortly.
- dialing -> failed: the attempt cannot be made at all (e.g. the number was refused).
- any open state -> cancelled: withdrawn by the customer or by staff.
- done, failed and cancelled are final.
"""

from __future__ import annotations

from collections.abc import Mapping

from callback_queue.models import CallbackState

__all__ = ["ALLOWED", "FINAL_STATES", "STATE_TEXT", "can_move", "is_final"]

S = CallbackState

ALLOWED: Mapping[CallbackState, frozenset[CallbackState]] = {
    S.NEW: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.DIALING, S.CANCELLED}),
    S.DIALING: frozenset({S.DONE, S.NO_ANSWER, S.SCHEDULED, S.FAILED, S.CANCELLED}),
    S.NO_ANSWER: frozenset({S.SCHEDULED, S.FAILED, S.CANCELLED}),
    S.DONE: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}

FINAL_STATES: frozenset[CallbackState] = frozenset(s for s, nxt in ALLOWED.items() if not nxt)

# What the customer (web form) and the contact-centre head read.
STATE_TEXT: Mapping[CallbackState, str] = {
    S.NEW: "Заявка принята",
    S.SCHEDULED: "Ожидает звонка специалиста",
    S.DIALING: "Специалист звонит вам",
    S.DONE: "Звонок состоялся",
    S.NO_ANSWER: "Не удалось дозвониться, перезвоним позже",
    S.FAILED: "Не удалось дозвониться",
    S.CANCELLED: "Заявка отменена",
}

def can_move(from_state: CallbackState, to_state: CallbackState) -> bool:
    return to_state in ALLOWED[from_state]


def is_final(state: CallbackState) -> bool:
    return state in FINAL_STATES
