"""The prompts as audio the controller plays itself (over AudioSocket) during a voice question.

Names are the flows' own: ``hotline:<name>`` is one of the project's rendered prompts (the
stack's sounds folder on this host: `Settings.pbx_instance_dir / "sounds"`, which Asterisk
sees at `Settings.pbx_sounds_path`); anything else (``digits/5``, ``silence/1``) is a sound
of Asterisk's Russian pack, read from the PBX's root filesystem on this host. Each file is
loaded once as 8 kHz signed 16-bit PCM and kept in a bounded LRU cache.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from speech.audio import WavError, float_to_pcm16, load_wav, resample

RATE = 8000
PACK_DIR = "/usr/share/asterisk/sounds"


class PromptMissing(LookupError):
    """A prompt the flow named has no audio file here."""


def pack_folder(root: Path, language: str = "ru") -> Path:
    """The language's sound pack inside a PBX root filesystem, following Debian's
    alternatives links (absolute paths inside the root) to the real folder on this host."""
    inside = Path(PACK_DIR) / language
    for _ in range(10):
        on_host = root / inside.relative_to("/")
        if not on_host.is_symlink():
            return on_host
        target = Path(os.readlink(on_host))
        inside = target if target.is_absolute() else (inside.parent / target)
    return root / inside.relative_to("/")


class PromptAudio:
    def __init__(self, ours: Path, pack: Path | None, max_items: int = 512) -> None:
        self.ours = Path(ours)
        self.pack = Path(pack) if pack is not None else None
        self.max_items = max_items
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def path(self, name: str) -> Path:
        if name.startswith("hotline:"):
            base, rel = self.ours, name.removeprefix("hotline:")
        else:
            if self.pack is None:
                raise PromptMissing(f"no sound pack folder to find {name!r} in")
            base, rel = self.pack, name
        if ".." in Path(rel).parts or rel.startswith("/"):
            raise PromptMissing(f"not a prompt name: {name!r}")
        candidate = base / f"{rel}.wav"
        if not candidate.is_file():
            raise PromptMissing(f"no audio for prompt {name!r} (looked for {candidate})")
        return candidate

    def pcm(self, name: str) -> bytes:
        """One prompt as 8 kHz signed 16-bit little-endian PCM (cached)."""
        with self._lock:
            if name in self._cache:
                self._cache.move_to_end(name)
                return self._cache[name]
        path = self.path(name)
        try:
            x, rate = load_wav(path)
        except WavError as exc:
            raise PromptMissing(f"prompt {name!r}: {exc}") from None
        if rate != RATE:
            x = resample(x, rate, RATE)
        data = float_to_pcm16(np.asarray(x, dtype=np.float32))
        with self._lock:
            self._cache[name] = data
            while len(self._cache) > self.max_items:
                self._cache.popitem(last=False)
        return data

    def joined(self, names: list[str]) -> bytes:
        """Several prompts one after the other, as the flows' '&'-joined Playback plays them."""
        return b"".join(self.pcm(n) for n in names)
