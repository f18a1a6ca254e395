"""The endpointer over synthetic telephone frames: onset, end, limits, floor, barge-in bar."""

from __future__ import annotations

import numpy as np

from speech.vad import END, MAX_LENGTH, NO_INPUT, START, Endpointer, VadConfig, frame_dbfs

RNG = np.random.default_rng(7)


def tone(dbfs: float, frames: int = 1, hz: float = 300.0) -> list[bytes]:
    amp = 32768 * 10 ** (dbfs / 20) * np.sqrt(2)
    out = []
    for i in range(frames):
        t = (np.arange(160) + i * 160) / 8000
        out.append((amp * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes())
    return out


def noise(dbfs: float, frames: int = 1) -> list[bytes]:
    sd = 32768 * 10 ** (dbfs / 20)
    return [np.clip(RNG.normal(0, sd, 160), -32768, 32767).astype("<i2").tobytes()
            for _ in range(frames)]


def run(vad: Endpointer, frames: list[bytes], playing: bool = False) -> list[tuple[int, str]]:
    events = []
    for i, f in enumerate(frames):
        e = vad.feed(f, playing=playing)
        if e:
            events.append((i, e))
    return events


def test_levels() -> None:
    assert abs(frame_dbfs(tone(-20)[0]) - (-20)) < 0.5
    assert frame_dbfs(bytes(320)) == -96.0


def test_speech_starts_and_ends_on_silence() -> None:
    vad = Endpointer(VadConfig(end_silence_ms=800))
    vad.arm()
    events = run(vad, noise(-65, 25) + tone(-20, 50) + noise(-65, 60))
    kinds = [e for _, e in events]
    assert kinds == [START, END]
    start_at, end_at = events[0][0], events[1][0]
    assert 25 <= start_at <= 25 + 8  # within the onset (120 ms)
    assert end_at == 75 + 40 - 1  # 800 ms of silence after the last voiced frame
    assert vad.trailing_silence_ms == 800


def test_short_click_is_not_speech() -> None:
    vad = Endpointer()
    vad.arm()
    events = run(vad, noise(-65, 10) + tone(-20, 3) + noise(-65, 300))
    assert [e for _, e in events] == [NO_INPUT]
    assert events[0][0] == 5000 // 20 - 1


def test_no_input_counts_from_arm_only() -> None:
    vad = Endpointer(VadConfig(no_input_ms=1000))
    assert run(vad, noise(-65, 200), playing=True) == []  # prompt playing, not armed
    vad.arm()
    assert run(vad, noise(-65, 50)) == [(49, NO_INPUT)]


def test_max_length() -> None:
    vad = Endpointer(VadConfig(max_speech_ms=2000))
    vad.arm()
    events = run(vad, tone(-20, 300))
    assert [e for _, e in events] == [START, MAX_LENGTH]
    assert events[1][0] - events[0][0] < 2000 // 20


def test_floor_adapts_to_a_noisy_line() -> None:
    # -38 dBFS of steady noise is above the absolute minimum: a fixed threshold would call
    # it speech; the adaptive floor learns it and only the louder voice starts speech.
    vad = Endpointer(VadConfig(initial_floor_dbfs=-40))
    vad.arm()
    assert run(vad, noise(-38, 200)) == []
    assert -42 < vad.floor < -35
    assert run(vad, tone(-15, 20))[0][1] == START


def test_barge_in_needs_more_than_echo() -> None:
    # Echo of the prompt at -40 dBFS on a quiet line: not a barge-in while playing...
    vad = Endpointer()
    assert run(vad, noise(-70, 20) + tone(-40, 100), playing=True) == []
    # ...but loud speech over the prompt is, after the hold-off.
    events = run(vad, tone(-15, 30), playing=True)
    assert events and events[0][1] == START
    # and nothing in the prompt's first 300 ms
    vad = Endpointer()
    events = run(vad, tone(-10, 30), playing=True)
    assert events[0][1] == START and events[0][0] >= 300 // 20
