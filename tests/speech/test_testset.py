"""The project's Russian speech test set: built for real (Festival, sox, the PBX's sound pack)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from base.settings import Settings
from hotline.stack import pbx
from speech import testset
from speech.audio import load_wav, ulaw_encode
from speech.engine import INTENTS

PACK = (pbx.rootfs_path(Settings()) / "usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU/digits")


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> testset.Manifest:
    pack = PACK if (PACK / "5.wav").exists() else None
    return testset.build(tmp_path_factory.mktemp("asr-testset"), quick=True, pack_dir=pack)


def test_quick_set_builds_with_expected_values(quick: testset.Manifest) -> None:
    items = quick.items
    assert 50 <= len(items) <= 90
    assert (quick.path / "manifest.json").exists()
    for item in items:
        assert (quick.path / item["file"]).stat().st_size > 4000, item
        assert item["duration_ms"] > 300
        assert item["text"] and item["split"] in ("dev", "test")
        if item["kind"] == "reading" and item["style"] == "zones":
            assert item["expected"] is None and set(item["zones"]) == {"day", "night"}
        elif item["kind"] in ("reading", "number"):
            assert item["expected"].isdigit(), item
        elif item["kind"] == "intent":
            assert item["expected"] in INTENTS
        else:
            assert item["expected"] in ("yes", "no")
    kinds = {(i["kind"], i["split"]) for i in items}
    assert kinds == {(k, s) for k in testset.KINDS for s in ("dev", "test")}
    if (PACK / "5.wav").exists():
        assert any(i["voice"] == "pack" for i in items)
        assert quick.data["sources"]["pack"]
    else:
        assert quick.data["sources"]["pack"] is None
        assert "Festival alone" in quick.data["sources"]["note"]
    # leading zeros said digit by digit are kept in the expected value
    assert any(i["expected"] and i["expected"].startswith("0") for i in items)


def test_the_same_text_is_never_in_both_splits() -> None:
    for items in (testset.recipe(quick=False), testset.recipe(quick=True)):
        dev = {i.text for i in items if i.split == "dev"}
        test = {i.text for i in items if i.split == "test"}
        assert dev and test and not dev & test
        values = {}  # a number said in several styles stays in one split
        for i in items:
            if i.kind in ("reading", "number") and i.expected:
                values.setdefault(i.expected, set()).add(i.split)
        assert all(len(splits) == 1 for splits in values.values())


def test_full_recipe_covers_what_callers_say() -> None:
    items = testset.recipe(quick=False)
    assert 400 <= len(items) <= 700
    for intent in INTENTS:
        assert len({i.text for i in items if i.expected == intent}) >= 12, intent
    readings = {i.expected for i in items if i.kind == "reading"}
    assert {"1000", "10010", "11", "20020", "100000", "007"} <= readings
    styles = {i.style for i in items if i.kind == "reading"}
    assert {"whole", "digits", "groups", "pairs", "zeros", "decimal", "zones"} <= styles
    assert all(i.previous and i.previous["value"] <= int(i.expected)
               for i in items if i.kind == "reading" and i.expected)
    noisy = [i for i in items if i.variation.noise]
    assert {i.variation.noise for i in noisy} == {"white", "pink"}
    assert {i.variation.tempo for i in items} >= {0.85, 1.0, 1.2}
    assert {i.variation.pitch for i in items} >= {-200, 0, 200}


def _wav_format(path: Path) -> tuple[int, int, int, int]:
    data = path.read_bytes()
    pos = 12
    while pos < len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if cid == b"fmt ":
            tag, channels, rate = struct.unpack("<HHI", data[pos + 8:pos + 16])
            bits = struct.unpack("<H", data[pos + 22:pos + 24])[0]
            return tag, channels, rate, bits
        pos += 8 + size + (size & 1)
    raise AssertionError(f"{path}: no fmt chunk")


def test_items_are_telephone_band_8khz_mulaw(quick: testset.Manifest) -> None:
    for item in quick.items:
        path = quick.path / item["file"]
        assert _wav_format(path) == (7, 1, 8000, 8), item["id"]  # WAVE_FORMAT_MULAW, mono
        x, rate = load_wav(path)
        assert rate == 8000
        body = path.read_bytes()
        data = body[body.index(b"data") + 8:][: len(x)]
        assert ulaw_encode(x) == data  # the samples are exactly the mu-law grid
    clean = [i for i in quick.items if not i["variation"]["noise"]]
    x, _ = load_wav(quick.path / clean[0]["file"])
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / 8000)
    total = power.sum()
    assert power[freqs < 150].sum() / total < 0.02  # band-passed from 300 Hz
    assert power[freqs > 3700].sum() / total < 0.02  # and to 3400 Hz


def test_same_recipe_same_hash_and_same_audio(quick: testset.Manifest, tmp_path: Path) -> None:
    assert testset.recipe_hash(testset.recipe(quick=True), True) == testset.recipe_hash(
        testset.recipe(quick=True), True)
    assert testset.recipe_hash(testset.recipe(quick=True, seed=1), True) != testset.recipe_hash(
        testset.recipe(quick=True), True)
    pack = Path(quick.data["sources"]["pack"]) if quick.data["sources"]["pack"] else None
    again = testset.build(quick.path.parent, quick=True, pack_dir=pack)  # cached: not rebuilt
    assert again.path == quick.path and again.data["build_s"] == quick.data["build_s"]
    fresh = testset.build(tmp_path, quick=True, pack_dir=pack)  # built anew: the same bytes
    assert fresh.hash == quick.hash
    for item in quick.items[::5]:
        assert (fresh.path / item["file"]).read_bytes() == (quick.path / item["file"]).read_bytes()


def test_without_the_sound_pack_the_recipe_is_festival_alone() -> None:
    alone = testset.recipe(quick=True, pack=False)
    assert alone and {i.voice for i in alone} == {"festival"}
    assert testset.recipe_hash(alone, False) != testset.recipe_hash(testset.recipe(quick=True), True)
