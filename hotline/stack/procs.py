"""Background processes started by the project: a pid file and a log file each.

`hotline up` starts every part of the stack with `spawn`; `hotline down` ends exactly the
processes whose pid files it finds (and only if the pid still belongs to the command that
was started, so a recycled pid is never killed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    name: str
    pid: int
    pidfile: Path
    logfile: Path


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [p.decode(errors="replace") for p in raw.split(b"\0") if p]


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def alive(pid: int) -> bool:
    return bool(_cmdline(pid)) and not _is_zombie(pid)


def read_pid(pidfile: Path) -> int | None:
    """The pid in `pidfile` if that process is still the one we started, else None."""
    try:
        pid_text, _, marker = pidfile.read_text().partition("\n")
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    if not alive(pid):
        return None
    marker = marker.strip()
    if marker and marker not in " ".join(_cmdline(pid)):
        return None
    return pid


def spawn(
    name: str,
    argv: list[str],
    run_dir: Path,
    log_dir: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    marker: str | None = None,
) -> Proc:
    """Start `argv` detached in its own session; refuse if the same name is already running."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    pidfile = run_dir / f"{name}.pid"
    logfile = log_dir / f"{name}.log"
    existing = read_pid(pidfile)
    if existing is not None:
        return Proc(name, existing, pidfile, logfile)
    with open(logfile, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
    pidfile.write_text(f"{proc.pid}\n{marker or argv[0]}\n")
    return Proc(name, proc.pid, pidfile, logfile)


def stop(pidfile: Path, timeout: float = 10.0, sig: int = signal.SIGTERM) -> bool:
    """Stop the process group recorded in `pidfile`. True if something was stopped."""
    pid = read_pid(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)
    if not wait_gone(pid, timeout):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_gone(pid, 5.0)
    pidfile.unlink(missing_ok=True)
    return True


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll `predicate` until it returns a truthy value; raise TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception as exc:  # noqa: BLE001 - reported below if it never succeeds
            last_error = exc
            value = None
        if value:
            return value
        time.sleep(interval)
    detail = f": {last_error}" if last_error else ""
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
