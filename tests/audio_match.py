"""Which prompts a caller heard, and when: normalised cross-correlation against prompt files.

What the caller receives (8 kHz G.711 µ-law from the PBX, decoded to PCM) is searched for
each candidate prompt (the 8 kHz 16-bit wavs the PBX plays: the instance's `sounds` folder and
the Russian pack's digits in the PBX root filesystem). A prompt is found where the normalised
cross-correlation of the prompt with the received audio under it passes a threshold; the
same audio cannot be two prompts (the best-matching one keeps it). Pure: arrays in, matches
out; `load_prompts` and `read_wav` are the only file readers.

A played prompt matches with a score near 1 (µ-law costs about 0.001); a different prompt,
even of the same voice, stays far below the threshold.
"""

from __future__ import annotations

import wave
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 8000
THRESHOLD = 0.8
FRAME = 160  # 20 ms


# ---- G.711 µ-law -----------------------------------------------------------------------------

_BIAS = 0x84
_CLIP = 32635


def _ulaw_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


ULAW_TO_PCM = _ulaw_table()


def ulaw_decode(data: bytes) -> np.ndarray:
    """µ-law bytes -> 16-bit PCM samples."""
    return ULAW_TO_PCM[np.frombuffer(data, dtype=np.uint8)]


def ulaw_encode(pcm: np.ndarray) -> bytes:
    """16-bit PCM -> µ-law bytes (G.711, as the PBX sends them)."""
    x = np.clip(pcm.astype(np.int32), -_CLIP, _CLIP)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.abs(x) + _BIAS
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


# ---- prompt files ----------------------------------------------------------------------------


def read_wav(path: Path) -> np.ndarray:
    """An 8 kHz 16-bit mono wav as int16 samples (what the PBX's prompt files are)."""
    with wave.open(str(path), "rb") as w:
        if (w.getframerate(), w.getsampwidth(), w.getnchannels()) != (RATE, 2, 1):
            raise ValueError(f"{path}: not 8 kHz 16-bit mono ({w.getframerate()} Hz, "
                             f"{w.getsampwidth() * 8} bit, {w.getnchannels()} ch)")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)


def load_prompts(folders: Mapping[str, Path],
                 names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Prompt name -> samples, for the wavs under each folder, named `<prefix><relative path>`.

    `folders` maps a name prefix to a folder, e.g. {"hotline:": <sounds>, "": <pack root>} gives
    "hotline:disclosure" and "digits/5"; `names` keeps only those (all found otherwise).
    """
    wanted = set(names) if names is not None else None
    prompts: dict[str, np.ndarray] = {}
    for prefix, folder in folders.items():
        for path in sorted(folder.rglob("*.wav")):
            name = prefix + path.relative_to(folder).with_suffix("").as_posix()
            if wanted is None or name in wanted:
                prompts[name] = read_wav(path)
    if wanted is not None and (missing := wanted - prompts.keys()):
        raise FileNotFoundError(f"no wav for prompts {sorted(missing)} under {dict(folders)}")
    return prompts


# ---- matching --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    name: str
    start_s: float
    end_s: float
    score: float


def ncc(signal: np.ndarray, template: np.ndarray, spectrum: np.ndarray | None = None,
        size: int = 0) -> np.ndarray:
    """Normalised cross-correlation of `template` at every lag of `signal` (values in -1..1).

    `spectrum`/`size`: the signal's rfft of length `size`, when many templates share it."""
    x = signal.astype(np.float64)
    t = template.astype(np.float64)
    t = t - t.mean()
    n = len(t)
    lags = len(x) - n + 1
    if lags <= 0 or not np.any(t):
        return np.zeros(max(lags, 0))
    if spectrum is None:
        size = 1 << int(np.ceil(np.log2(len(x) + n)))
        spectrum = np.fft.rfft(x, size)
    num = np.fft.irfft(spectrum * np.conj(np.fft.rfft(t, size)), size)[:lags]
    c1 = np.concatenate(([0.0], np.cumsum(x)))
    c2 = np.concatenate(([0.0], np.cumsum(x * x)))
    win_sum = c1[n:] - c1[:-n]
    win_energy = np.maximum(c2[n:] - c2[:-n] - win_sum * win_sum / n, 0.0)
    den = np.sqrt(win_energy) * np.linalg.norm(t)
    floor = 1e-6 * np.linalg.norm(t) * np.sqrt(n) * 32768  # digital silence: no match
    return np.where(den > floor, num / np.maximum(den, floor), 0.0)


def find_prompts(signal: np.ndarray, prompts: Mapping[str, np.ndarray],
                 threshold: float = THRESHOLD) -> list[Match]:
    """The prompts heard in `signal`, in the order heard, each with where it starts and ends.

    Every occurrence of a prompt counts; where two candidates claim overlapping audio, the one
    with the higher score keeps it."""
    if not len(signal) or not prompts:
        return []
    longest = max(len(t) for t in prompts.values())
    size = 1 << int(np.ceil(np.log2(len(signal) + longest)))
    spectrum = np.fft.rfft(signal.astype(np.float64), size)
    candidates: list[Match] = []
    for name, template in prompts.items():
        n = len(template)
        scores = ncc(signal, template, spectrum, size)
        for lag in _peaks(scores, threshold, n):
            candidates.append(Match(name, lag / RATE, (lag + n) / RATE, float(scores[lag])))
    kept: list[Match] = []
    for m in sorted(candidates, key=lambda m: -m.score):
        if all(_overlap(m, k) < 0.5 * min(m.end_s - m.start_s, k.end_s - k.start_s) for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.start_s)


def _peaks(scores: np.ndarray, threshold: float, width: int) -> list[int]:
    """Lags of local maxima above `threshold`, at least `width` apart (the best one first)."""
    above = np.flatnonzero(scores >= threshold)
    peaks: list[int] = []
    for lag in above[np.argsort(-scores[above])]:
        if all(abs(int(lag) - p) >= width for p in peaks):
            peaks.append(int(lag))
    return peaks


def _overlap(a: Match, b: Match) -> float:
    return max(0.0, min(a.end_s, b.end_s) - max(a.start_s, b.start_s))


def first_audio_s(signal: np.ndarray, level_db: float = -45.0) -> float | None:
    """Where the first 20 ms frame louder than `level_db` dBFS starts (None: all quiet)."""
    frames = len(signal) // FRAME
    if not frames:
        return None
    x = signal[: frames * FRAME].astype(np.float64).reshape(frames, FRAME)
    rms = np.sqrt((x * x).mean(axis=1)) / 32768
    loud = np.flatnonzero(rms > 10 ** (level_db / 20))
    return float(loud[0] * FRAME / RATE) if len(loud) else None


def names(matches: Iterable[Match]) -> list[str]:
    return [m.name for m in matches]


def contains_run(sequence: list[str], run: list[str]) -> bool:
    """Whether `run` occurs in `sequence` as consecutive items."""
    return any(sequence[i : i + len(run)] == run for i in range(len(sequence) - len(run) + 1))
