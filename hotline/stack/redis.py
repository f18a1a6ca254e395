"""A real redis-server (Debian package) started by the project on a loopback port."""

from __future__ import annotations

import shutil
import socket

from base.settings import Settings
from hotline.stack import procs


class RedisError(RuntimeError):
    pass


def ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start(settings: Settings, timeout: float = 15.0) -> int:
    pidfile = settings.run_dir / "redis.pid"
    pid = procs.read_pid(pidfile)
    if pid is not None and ping(settings.bind_address, settings.redis_port):
        return pid
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisError("redis-server is not installed: run `make setup` (Debian package redis-server)")
    folder = settings.data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    proc = procs.spawn(
        "redis",
        [binary, "--port", str(settings.redis_port), "--bind", settings.bind_address, "--save", "",
         "--appendonly", "no", "--dir", str(folder), "--daemonize", "no", "--protected-mode", "yes"],
        settings.run_dir,
        settings.log_dir,
        marker=f":{settings.redis_port}",
    )
    procs.wait_for(lambda: ping(settings.bind_address, settings.redis_port), timeout,
                   f"Redis on port {settings.redis_port} (see {proc.logfile})")
    return proc.pid


def stop(settings: Settings) -> bool:
    return procs.stop(settings.run_dir / "redis.pid")
