"""A real redis-server (Debian package) started by the project on the internal address.

It asks for a password (``requirepass``, from HOTLINE_REDIS_PASSWORD): the password is in a
configuration file only its owner reads, not on the command line, where any local user
would see it.
"""

from __future__ import annotations

import shutil
import socket

from base.settings import Settings
from hotline.stack import procs


class RedisError(RuntimeError):
    pass


def _command(*parts: str) -> bytes:
    """One command in Redis's wire format (RESP), so any byte of a password is sent as is."""
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        raw = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)


def ping(host: str, port: int, password: str = "") -> bool:
    """Does the Redis on host:port answer PING (after AUTH, when a password is given)?"""
    request = (_command("AUTH", password) if password else b"") + _command("PING")
    try:
        with socket.create_connection((host, port), timeout=0.5) as s:
            s.sendall(request)
            reply = b""
            while b"PONG" not in reply and b"-" not in reply and len(reply) < 256:
                chunk = s.recv(256)
                if not chunk:
                    break
                reply += chunk
            return b"+PONG" in reply
    except OSError:
        return False


def config_text(settings: Settings) -> str:
    return (
        f"bind {settings.internal_bind_address}\n"
        f"port {settings.redis_port}\n"
        f"requirepass {settings.redis_password}\n"
        "protected-mode yes\n"
        'save ""\n'
        "appendonly no\n"
        "daemonize no\n"
    )


def start(settings: Settings, timeout: float = 15.0) -> int:
    pidfile = settings.run_dir / "redis.pid"
    host, password = settings.internal_bind_address, settings.redis_password
    pid = procs.read_pid(pidfile)
    if pid is not None and ping(host, settings.redis_port, password):
        return pid
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisError("redis-server is not installed: run `make setup` (Debian package redis-server)")
    folder = settings.data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "redis.conf"
    conf.touch(mode=0o600)
    conf.chmod(0o600)
    conf.write_text(config_text(settings) + f"dir \"{folder}\"\n")
    proc = procs.spawn(
        "redis",
        [binary, str(conf)],
        settings.run_dir,
        settings.log_dir,
        marker=f":{settings.redis_port}",
    )
    procs.wait_for(lambda: ping(host, settings.redis_port, password), timeout,
                   f"Redis on port {settings.redis_port} (see {proc.logfile})")
    return proc.pid


def stop(settings: Settings) -> bool:
    return procs.stop(settings.run_dir / "redis.pid")
