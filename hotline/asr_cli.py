"""`hotline asr …` (recognise files) and `hotline models …` (list and install speech models).

`hotline asr recognize --expect reading FILE...` loads the engine once and prints one JSON
object per file, one per line: {"file", "text", "value", "confidence", "ms"} — `ms` is the
time from the end of the audio (the whole file read) to the result. A file that cannot be read
gives {"file", "error"} and the others go on; the exit code is 1 when any failed.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from base.settings import Settings
from speech import model_store
from speech.audio import WavError, load_wav, to_engine_rate
from speech.engine import EngineUnavailable, Expect

asr_app = typer.Typer(no_args_is_help=True,
                       help="Speech recognition: recognise WAV files, the test set.")
models_app = typer.Typer(no_args_is_help=True,
                         help="Speech models: what is installed, install a Vosk model.")


class EngineName(StrEnum):
    whisper = "whisper"
    vosk = "vosk"


def _understand() -> Any | None:
    """speech.understanding.understand when that module exists, else None (value: null)."""
    try:
        module = importlib.import_module("speech.understanding")
    except ModuleNotFoundError as exc:
        if exc.name != "speech.understanding":
            raise
        return None
    return getattr(module, "understand", None)


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@asr_app.command("recognize")
def recognize(
    files: Annotated[list[Path], typer.Argument(help="WAV files (any common rate/encoding)")],
    expect: Annotated[Expect, typer.Option(help="What is said in the files")] = Expect.READING,
    engine: Annotated[Optional[EngineName], typer.Option(
        help="Engine (default: HOTLINE_ASR_ENGINE)")] = None,
    model: Annotated[Optional[str], typer.Option(
        help="Model: a Vosk model name under asr_models/ or a path (default: HOTLINE_ASR_MODEL)"
    )] = None,
) -> None:
    """Recognise each file; one JSON object per file per line."""
    settings = Settings()
    try:
        asr = model_store.open_engine(settings, engine=engine.value if engine else "",
                                      model=model or "", workers=1)
    except EngineUnavailable as exc:
        typer.secho(f"speech engine unavailable: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    understand = _understand()
    failed = 0
    for path in files:
        try:
            samples, rate = load_wav(path)
        except WavError as exc:
            failed += 1
            _emit({"file": str(path), "error": str(exc)})
            continue
        started = time.perf_counter()  # the audio has ended: recognition starts now
        try:
            audio = to_engine_rate(samples, rate)
            transcript = asr.transcribe(audio, expect)
            value = None
            confidence = transcript.hypotheses[0].confidence if transcript.hypotheses else 0.0
            if understand is not None:
                understood = understand(transcript, expect)
                value = understood.value
                confidence = understood.confidence
        except Exception as exc:  # noqa: BLE001 - reported for this file; the others go on
            failed += 1
            _emit({"file": str(path), "error": f"{type(exc).__name__}: {exc}"})
            continue
        ms = (time.perf_counter() - started) * 1000
        _emit({"file": str(path), "text": transcript.text, "value": value,
               "confidence": round(float(confidence), 4), "ms": round(ms, 1)})
    if failed:
        raise typer.Exit(1)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


@models_app.command("list")
def models_list(
    verify: Annotated[bool, typer.Option(help="Re-hash the Whisper model files")] = False,
) -> None:
    """Installed models (Whisper base in the cache, Vosk models under asr_models/) and the
    catalogue of Vosk models `install` knows."""
    settings = Settings()
    installed = model_store.list_models(settings, deep=verify)
    typer.echo(f"Installed (Whisper in {settings.asr_cache_dir}, "
               f"Vosk in {settings.asr_models_dir}):")
    if not installed:
        typer.echo("  none")
    for m in installed:
        typer.echo(f"  {m.name:28} {m.engine:7} {_size(m.size):>10}  verified: {m.verified}"
                   f"  {m.path}")
    if not any(m.engine == "whisper" for m in installed):
        typer.echo(f"  {model_store.WHISPER_NAME:28} whisper  (joined from the wheels on first "
                   "use)")
    typer.echo("Known Vosk models (hotline models install NAME):")
    for entry in model_store.VOSK_CATALOGUE.values():
        check = "sha256" if entry.sha256 else "size+load check" if entry.size else "load check"
        typer.echo(f"  {entry.name:28} {check:16} {entry.note}")


@models_app.command("install")
def models_install(
    name: Annotated[str, typer.Argument(help="A catalogued Vosk model (see `models list`)")],
    url: Annotated[Optional[str], typer.Option(help="Download from here instead")] = None,
    sha256: Annotated[Optional[str], typer.Option(help="Expected SHA-256 of the zip")] = None,
    force: Annotated[bool, typer.Option(help="Replace an installed model")] = False,
) -> None:
    """Download a Vosk model, verify it, unpack it under asr_models/NAME."""
    settings = Settings()
    entry = model_store.VOSK_CATALOGUE.get(name)
    if entry is None and not url:
        known = ", ".join(model_store.VOSK_CATALOGUE)
        typer.secho(f"unknown model {name!r}: known are {known} (or give --url)",
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    if entry is None or url or sha256:
        # a catalogued model fetched from elsewhere (a mirror, a file copied over) is still
        # the catalogued file: its pinned size and hash hold
        entry = model_store.CatalogueEntry(
            name, url or entry.url, entry.size if entry else None,
            sha256.lower() if sha256 else entry.sha256 if entry else None,
            entry.note if entry else "given by --url")
    last = [0.0]

    def progress(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5 and done != total:
            return
        last[0] = now
        of = f" of {_size(total)} ({100 * done // total}%)" if total else ""
        sys.stderr.write(f"\r{name}: {_size(done)}{of}   ")
        sys.stderr.flush()

    typer.echo(f"downloading {entry.url}", err=True)
    try:
        path = model_store.install_vosk_model(settings, entry, force=force, progress=progress)
    except model_store.ModelInstallError as exc:
        sys.stderr.write("\n")
        typer.secho(f"not installed: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    sys.stderr.write("\n")
    how = "SHA-256, " if entry.sha256 else "size, " if entry.size else ""
    typer.echo(f"installed {path} (verified: {how}loaded by Vosk)")
    typer.echo(f"use it: HOTLINE_ASR_ENGINE=vosk HOTLINE_ASR_MODEL={name}")
