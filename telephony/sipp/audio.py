"""Audio for test callers: any file sox reads -> G.711 µ-law 8 kHz mono WAV for rtp_stream."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def to_ulaw(src: Path, cache_dir: Path) -> Path:
    """Convert `src` once (cached by content) to what sipp's rtp_stream plays."""
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    dst = cache_dir / f"{src.stem}-{digest}.ulaw.wav"
    if not dst.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_suffix(".tmp.wav")
        subprocess.run(
            ["sox", str(src), "-r", "8000", "-c", "1", "-e", "u-law", "-b", "8", str(tmp)],
            check=True, capture_output=True,
        )
        tmp.replace(dst)
    return dst


def duration_ms(path: Path) -> int:
    out = subprocess.run(["soxi", "-D", str(path)], check=True, capture_output=True, text=True).stdout
    return int(float(out.strip()) * 1000)


def rms_db(path: Path) -> float:
    """RMS level in dBFS of the whole file (sox stat); -inf-ish for digital silence."""
    out = subprocess.run(["sox", str(path), "-n", "stats"], capture_output=True, text=True).stderr
    for line in out.splitlines():
        if line.startswith("RMS lev dB"):
            value = line.split()[3]
            return float("-inf") if value == "-inf" else float(value)
    raise ValueError(f"sox could not measure {path}: {out.strip()[:300]}")
