"""The lifecycle table (pure)."""

from __future__ import annotations

import pytest

from callback_queue.lifecycle import ALLOWED, FINAL_STATES, STATE_TEXT, can_move, is_final
from callback_queue.models import OPEN_STATES, CallbackState

S = CallbackState


def test_every_state_has_its_moves_and_a_russian_text() -> None:
    assert set(ALLOWED) == set(CallbackState) == set(STATE_TEXT)
    assert all(text and text[0].isupper() for text in STATE_TEXT.values())


def test_final_and_open_states_partition_the_lifecycle() -> None:
    assert FINAL_STATES == {S.DONE, S.FAILED, S.CANCELLED}
    assert FINAL_STATES.isdisjoint(OPEN_STATES)
    assert FINAL_STATES | OPEN_STATES == set(CallbackState)
    assert all(is_final(s) for s in FINAL_STATES)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (S.NEW, S.SCHEDULED),
        (S.SCHEDULED, S.DIALING),
        (S.DIALING, S.DONE),
        (S.DIALING, S.NO_ANSWER),
        (S.NO_ANSWER, S.SCHEDULED),
        (S.NO_ANSWER, S.FAILED),
        (S.DIALING, S.SCHEDULED),
    ],
)
def test_the_path_of_an_order(a: CallbackState, b: CallbackState) -> None:
    assert can_move(a, b)


def test_any_open_order_can_be_cancelled_and_nothing_leaves_a_final_state() -> None:
    assert all(can_move(s, S.CANCELLED) for s in OPEN_STATES)
    assert not any(can_move(f, s) for f in FINAL_STATES for s in CallbackState)


@pytest.mark.parametrize(
    ("a", "b"),
    [(S.NEW, S.DIALING), (S.SCHEDULED, S.DONE), (S.SCHEDULED, S.NO_ANSWER), (S.NO_ANSWER, S.DONE)],
)
def test_shortcuts_are_refused(a: CallbackState, b: CallbackState) -> None:
    assert not can_move(a, b)
