"""Answers to typical questions (tariffs, payment) from a Russian content file staff edit.

The file (TOML, `ivr/content/faq.toml` unless the setting `faq_file` names another) holds one
table per topic with its `text`. It is read again whenever it changes (its mtime and size),
without a restart, and each answer is rendered to a prompt (ivr.prompts.render: cached by
text) in the PBX's sounds folder when the content changes — never during a call:
- a broken file (TOML error, an unknown topic, an empty or missing text) keeps the last good
  answers and logs the error, once per version of the file;
- a missing file means no answers: the flows say they cannot answer and offer the operator
  or a callback; nothing is ever made up.
The hours of the operators are not in this file: they come from the configured schedule.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("ivr.faq")

TOPICS = ("tariffs", "payment")
DEFAULT_FILE = Path(__file__).resolve().parent / "content" / "faq.toml"
MAX_TEXT = 1500  # characters: about a minute and a half of speech, already too long for a phone
PREFIX = "faq_"


class FaqError(ValueError):
    pass


@dataclass(frozen=True)
class Answer:
    topic: str
    text: str
    sound: str  # `hotline:<name>`, the rendered prompt in the sounds folder


def parse(raw: bytes) -> dict[str, str]:
    """The file's topics and texts (whitespace folded), or FaqError saying what is wrong."""
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise FaqError(f"not valid UTF-8 TOML: {error}") from None
    texts: dict[str, str] = {}
    for topic, entry in doc.items():
        if topic not in TOPICS:
            raise FaqError(f"unknown topic {topic!r} (known: {', '.join(TOPICS)})")
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
            raise FaqError(f"[{topic}] needs text = \"...\"")
        unknown = set(entry) - {"text"}
        if unknown:
            raise FaqError(f"[{topic}] has unknown keys {sorted(unknown)}")
        text = " ".join(entry["text"].split())
        if not text:
            raise FaqError(f"[{topic}] text is empty")
        if len(text) > MAX_TEXT:
            raise FaqError(f"[{topic}] text is {len(text)} characters, at most {MAX_TEXT}")
        texts[topic] = text
    return texts


def sound_name(topic: str, text: str) -> str:
    """One file per version of an answer: a call that already chose a file keeps playing it."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{PREFIX}{topic}_{digest}"


class FaqStore:
    """The current answers; `refresh` (cheap when nothing changed) picks up an edited file."""

    def __init__(self, path: Path, sounds_dir: Path, cache_dir: Path,
                 render: Callable[[str, Path], Path] | None = None) -> None:
        self.path = Path(path)
        self.sounds_dir = Path(sounds_dir)
        self.cache_dir = Path(cache_dir)
        self._render = render
        self._answers: dict[str, Answer] = {}
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of the version handled
        self._lock = threading.Lock()

    # -- reading -----------------------------------------------------------------------------

    def answer(self, topic: str) -> Answer | None:
        return self._answers.get(topic)

    def topics(self) -> list[str]:
        return sorted(self._answers)

    async def current(self, topic: str) -> Answer | None:
        """The answer now, after picking up a change the watcher has not seen yet."""
        await asyncio.to_thread(self.refresh)
        return self.answer(topic)

    # -- keeping up with the file ------------------------------------------------------------

    def refresh(self) -> bool:
        """Read the file again if it changed; True when the answers changed."""
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                if self._seen != (-1, -1):
                    self._seen = (-1, -1)
                    log.warning("FAQ file %s is missing: no FAQ answers until it is back", self.path)
                    changed = bool(self._answers)
                    self._answers = {}
                    return changed
                return False
            signature = (st.st_mtime_ns, st.st_size)
            if signature == self._seen:
                return False
            self._seen = signature
            try:
                texts = parse(self.path.read_bytes())
                answers = {topic: self._rendered(topic, text) for topic, text in texts.items()}
            except Exception as error:  # noqa: BLE001 - a broken file never takes answers away
                log.error("FAQ file %s not used (%s): keeping the last good answers (%s)",
                          self.path, error, ", ".join(sorted(self._answers)) or "none")
                return False
            changed = answers != self._answers
            self._answers = answers
            log.info("FAQ answers loaded from %s: %s", self.path, ", ".join(sorted(answers)) or "none")
            return changed

    def _rendered(self, topic: str, text: str) -> Answer:
        from ivr.prompts import render

        name = sound_name(topic, text)
        target = self.sounds_dir / f"{name}.wav"
        if not target.exists():
            source = (self._render or render)(text, self.cache_dir)
            self.sounds_dir.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            shutil.copyfile(source, tmp)
            owner = self.sounds_dir.stat()  # the PBX reads the folder as its owner
            try:
                shutil.chown(tmp, owner.st_uid, owner.st_gid)
            except PermissionError:
                pass  # not root: the file is world-readable as created
            tmp.replace(target)
        return Answer(topic, text, f"hotline:{name}")

    async def watch(self, interval: float = 2.0) -> None:
        """Background task: render a changed file soon after it is saved, not during a call."""
        while True:
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:  # logged; the next round tries again
                log.exception("FAQ refresh failed")
            await asyncio.sleep(interval)


__all__ = ["DEFAULT_FILE", "TOPICS", "Answer", "FaqError", "FaqStore", "parse", "sound_name"]
