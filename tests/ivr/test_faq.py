"""The FAQ content file: read again on change without a restart, rendered with the real
synthesiser when it changes, a broken file keeps the last good answers, a missing one gives
none."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from ivr.faq import DEFAULT_FILE, TOPICS, FaqError, FaqStore, parse

GOOD = """
[tariffs]
text = "Тариф указан в квитанции."

[payment]
text = \"\"\"
Оплатить можно
в банке.
\"\"\"
"""


def store(tmp_path: Path, text: str | None) -> FaqStore:
    path = tmp_path / "faq.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    return FaqStore(path, tmp_path / "sounds", tmp_path / "cache")


def edit(path: Path, text: str) -> None:
    """Save new content; the mtime moved on explicitly (a coarse clock could keep it equal)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def test_the_shipped_file_is_valid_and_answers_every_topic() -> None:
    texts = parse(DEFAULT_FILE.read_bytes())
    assert sorted(texts) == sorted(TOPICS)
    assert all(len(t) > 40 for t in texts.values())


def test_answers_are_rendered_into_the_sounds_folder(tmp_path: Path) -> None:
    faq = store(tmp_path, GOOD)
    assert faq.refresh() is True
    payment = faq.answer("payment")
    assert payment is not None and payment.text == "Оплатить можно в банке."
    wav = tmp_path / "sounds" / f"{payment.sound.removeprefix('hotline:')}.wav"
    assert wav.exists() and wav.stat().st_size > 8000  # festival spoke it (8 kHz, > 0.5 s)
    assert faq.refresh() is False  # unchanged: nothing read or rendered again


def test_an_edit_is_picked_up_without_a_restart(tmp_path: Path) -> None:
    faq = store(tmp_path, GOOD)
    faq.refresh()
    old = faq.answer("tariffs")
    edit(faq.path, GOOD.replace("Тариф указан в квитанции.", "Тарифы опубликованы на сайте."))
    assert faq.refresh() is True
    new = faq.answer("tariffs")
    assert old is not None and new is not None
    assert new.text == "Тарифы опубликованы на сайте." and new.sound != old.sound
    assert (tmp_path / "sounds" / f"{new.sound.removeprefix('hotline:')}.wav").exists()


@pytest.mark.parametrize("broken", [
    "[tariffs\ntext = 'x'",  # TOML syntax
    "[tarifs]\ntext = 'x'",  # unknown topic (a typo)
    "[tariffs]\ntext = '   '",  # empty text
    "[tariffs]\ntitle = 'x'",  # no text
])
def test_a_broken_file_keeps_the_last_good_answers_and_logs(
        tmp_path: Path, broken: str, caplog: pytest.LogCaptureFixture) -> None:
    faq = store(tmp_path, GOOD)
    faq.refresh()
    good = faq.answer("tariffs")
    edit(faq.path, broken)
    with caplog.at_level(logging.ERROR, logger="ivr.faq"):
        assert faq.refresh() is False
        assert faq.refresh() is False  # the same broken version is logged once
    assert faq.answer("tariffs") == good
    assert len([r for r in caplog.records if "not used" in r.getMessage()]) == 1
    with pytest.raises(FaqError):
        parse(broken.encode())


def test_a_missing_file_means_no_answers(tmp_path: Path) -> None:
    faq = store(tmp_path, None)
    faq.refresh()
    assert faq.answer("tariffs") is None and faq.topics() == []
    edit(faq.path, GOOD)  # put back: picked up
    faq.refresh()
    assert faq.topics() == ["payment", "tariffs"]
    faq.path.unlink()  # deleted: no answers, not the old ones
    assert faq.refresh() is True
    assert faq.topics() == []


async def test_current_picks_up_a_change_before_answering(tmp_path: Path) -> None:
    faq = store(tmp_path, GOOD)
    assert (await faq.current("tariffs")).text == "Тариф указан в квитанции."  # type: ignore[union-attr]
    edit(faq.path, "[payment]\ntext = 'Только в банке.'")
    assert await faq.current("tariffs") is None  # the topic was removed from the file
    assert (await faq.current("payment")).text == "Только в банке."  # type: ignore[union-attr]
