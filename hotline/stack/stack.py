"""Starting and stopping the parts of the stack, in the one order they need.

Used by `hotline up`/`down`, by the test suite's session fixture and by the benchmarks, so
all three run the same stack the same way.
"""

from __future__ import annotations

import json
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from base.settings import REPO_ROOT, Settings
from hotline.stack import pbx, procs
from hotline.stack import redis as redis_stack


def prompts_cache(settings: Settings) -> Path:
    return settings.pbx_cache_dir.parent / "prompts"


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as HOTLINE_* variables, for a child process to see the same stack."""
    env = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is None:  # unset: the child's default too ("null" would be read as a path)
            continue
        env[f"HOTLINE_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def start_pbx(settings: Settings, timeout: float = 60.0) -> pbx.Instance:
    """Build (or reuse) the PBX, install the prompts, render the config and start Asterisk.

    A running Asterisk is left alone: its prompts are not rewritten under calls playing them.
    """
    inst = pbx.instance(settings)
    if inst.running_pid() is not None:
        return inst
    uid, gid = inst.ids()
    install_prompts(settings, uid, gid)
    inst.start(timeout=timeout)
    return inst


def install_prompts(settings: Settings, uid: int = -1, gid: int = -1) -> int:
    """Every prompt of every flow, rendered once (cached) into the instance's sounds folder."""
    from ivr import hotline_prompts, prompts

    sounds = settings.pbx_instance_dir / "sounds"
    cache = prompts_cache(settings)
    return len(prompts.install(sounds, cache, uid, gid)) + len(hotline_prompts.install(sounds, cache, uid, gid))


def hotline_exe() -> str:
    return str(Path(sys.executable).with_name("hotline"))


def start_controller(settings: Settings, timeout: float = 30.0) -> procs.Proc:
    proc = procs.spawn("controller", [hotline_exe(), "controller"], settings.run_dir, settings.log_dir,
                       env=settings_env(settings), cwd=REPO_ROOT, marker="controller")
    procs.wait_for(lambda: port_open(settings.internal_bind_address, settings.agi_port), timeout,
                   f"the controller (see {proc.logfile})")
    return proc


def stop_controller(settings: Settings, kill: bool = False) -> bool:
    return procs.stop(settings.run_dir / "controller.pid", timeout=15, sig=9 if kill else 15)


def start_console(settings: Settings, timeout: float = 30.0) -> procs.Proc:
    proc = procs.spawn("console", [hotline_exe(), "console"], settings.run_dir, settings.log_dir,
                       env=settings_env(settings), cwd=REPO_ROOT, marker="console")
    procs.wait_for(lambda: port_open(settings.public_bind_address, settings.console_port), timeout,
                   f"the console (see {proc.logfile})")
    return proc


PARTS = ("redis", "asterisk", "controller", "console")


def running(settings: Settings) -> dict[str, int | None]:
    """Each part's pid if it is running now (the process its pid file names), else None."""
    return {name: procs.read_pid(settings.run_dir / f"{name}.pid") for name in PARTS}


@dataclass
class Started:
    pbx: pbx.Instance
    started: list[str]  # the parts this run started
    running: list[str]  # the parts that were running already, left alone


def start_all(settings: Settings, console: bool = True) -> Started:
    """Start whatever part of the stack is not running; leave the running parts alone.

    Run again after a crash (of the controller, say), it starts just what is missing.
    """
    from accounts.demo import seed_demo
    from base.db import make_engine, make_session_factory
    from hotline.db import upgrade

    before = running(settings)
    upgrade(settings.db_url)
    with make_session_factory(make_engine(settings.db_url)).begin() as session:
        seed_demo(session)
    redis_stack.start(settings)
    inst = start_pbx(settings)
    start_controller(settings)
    if console:
        start_console(settings)
    after = running(settings)
    wanted = [p for p in PARTS if console or p != "console"]
    return Started(
        inst,
        started=[p for p in wanted if before[p] is None and after[p] is not None],
        running=[p for p in wanted if before[p] is not None],
    )


def stop_all(settings: Settings) -> list[str]:
    stopped = []
    for name in ("console", "controller"):
        if procs.stop(settings.run_dir / f"{name}.pid", timeout=15):
            stopped.append(name)
    if pbx.Instance(settings, pbx.rootfs_path(settings)).stop():
        stopped.append("asterisk")
    if redis_stack.stop(settings):
        stopped.append("redis")
    return stopped
