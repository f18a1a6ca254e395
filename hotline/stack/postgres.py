"""A private PostgreSQL server from Debian's ``postgresql`` package, for tests and for users.

The cluster lives in one folder (``base_dir/pgdata``), listens on 127.0.0.1 only, and keeps
its unix socket and log in ``base_dir``. Loopback connections are trusted (no password):
acceptable for a private cluster bound to loopback on a developer's machine or in CI, not
for production, where ``HOTLINE_DATABASE_URL`` should point at a managed server instead.

Run as root, the server runs as the ``postgres`` OS user (``initdb`` and ``pg_ctl`` refuse
root): ``base_dir`` is chowned to it, and every folder above ``base_dir`` must be
traversable by other users (``mkdir -m 755``; pytest's ``tmp_path`` is not, it is 0700).

    with PostgresServer(Path("/tmp/hotline-pg"), 55432) as server:
        engine = make_engine(server.url)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

import psycopg

__all__ = ["PostgresError", "PostgresServer", "find_pg_bin_dir"]

PG_ROOT = Path("/usr/lib/postgresql")
OS_USER = "postgres"
SUPERUSER = "postgres"
HOST = "127.0.0.1"
# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH = 107
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresError(RuntimeError):
    """The private PostgreSQL server could not be set up, started or stopped."""


def find_pg_bin_dir(root: Path = PG_ROOT) -> Path:
    """The ``bin`` folder of the newest PostgreSQL installed from Debian packages."""
    candidates: list[tuple[int, Path]] = []
    if root.is_dir():
        for entry in root.iterdir():
            if entry.name.isdigit() and (entry / "bin" / "initdb").is_file():
                candidates.append((int(entry.name), entry / "bin"))
    if not candidates:
        raise PostgresError(
            f"PostgreSQL is not installed (nothing under {root}/*/bin): "
            "install it with `apt-get install postgresql`"
        )
    return max(candidates)[1]


class PostgresServer:
    """One private cluster in ``base_dir``, serving the database ``database`` on ``port``.

    ``durable=False`` turns off fsync and friends: much faster, and a crash may lose the
    cluster, which is what tests want and users do not.
    """

    def __init__(
        self,
        base_dir: Path,
        port: int,
        *,
        database: str = "hotline",
        durable: bool = True,
        bin_dir: Path | None = None,
    ) -> None:
        if not _DB_NAME.match(database):
            raise ValueError(f"database name {database!r}: use lowercase letters, digits and _")
        self.base_dir = Path(base_dir).absolute()
        self.port = port
        self.database = database
        self.durable = durable
        self._bin_dir = bin_dir
        self._started_here = False

    # ---- paths and addresses ----------------------------------------------------------------

    @property
    def bin_dir(self) -> Path:
        if self._bin_dir is None:
            self._bin_dir = find_pg_bin_dir()
        return self._bin_dir

    @property
    def pgdata(self) -> Path:
        return self.base_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    @property
    def socket_dir(self) -> Path | None:
        """Where the unix socket is, or None when ``base_dir``'s path is too long for one."""
        if len(str(self.base_dir / f".s.PGSQL.{self.port}.lock")) > MAX_SOCKET_PATH:
            return None
        return self.base_dir

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``hotline`` database."""
        return self.url_for(self.database)

    @property
    def admin_url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` maintenance database."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def _conninfo(self, database: str) -> str:
        return f"host={HOST} port={self.port} user={SUPERUSER} dbname={database}"

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        """Initialise the cluster if needed, start it (or reuse it if running), create the DB."""
        self._prepare_base_dir()
        if not (self.pgdata / "PG_VERSION").is_file():
            self._initdb()
        self._write_config()
        if self.is_running():
            running_port = self._running_port()
            if running_port != self.port:
                raise PostgresError(
                    f"a PostgreSQL server already runs from {self.pgdata} on port "
                    f"{running_port}, not {self.port}: stop it first "
                    f"(runuser -u postgres -- {self.bin_dir / 'pg_ctl'} stop -D {self.pgdata})"
                )
        else:
            result = self._pg(
                "pg_ctl", "start", "-D", str(self.pgdata), "-l", str(self.log_file),
                "-w", "-t", str(int(timeout)), check=False,
            )  # fmt: skip
            if result.returncode != 0:
                raise PostgresError(
                    f"PostgreSQL did not start on port {self.port}: {result.stderr.strip()}\n"
                    f"last lines of {self.log_file}:\n{self._log_tail()}"
                )
            self._started_here = True
        self.wait_until_ready(timeout)
        self.create_database(self.database, exist_ok=True)

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are disconnected)."""
        if not (self.pgdata / "PG_VERSION").is_file() or not self.is_running():
            return
        self._pg("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w")
        self._started_here = False

    def is_running(self) -> bool:
        if not (self.pgdata / "postmaster.pid").exists():
            return False
        return self._pg("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode == 0

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        """Poll with a real connection until the server accepts queries."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self._conninfo("postgres"), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as error:
                if time.monotonic() >= deadline:
                    raise PostgresError(
                        f"PostgreSQL on {HOST}:{self.port} did not answer within {timeout:g} s: "
                        f"{error}\nlast lines of {self.log_file}:\n{self._log_tail()}"
                    ) from error
                time.sleep(0.1)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # A server that was already running when we came is left running.
        if self._started_here:
            self.stop()

    # ---- databases ---------------------------------------------------------------------------

    def create_database(self, name: str, *, exist_ok: bool = False) -> str:
        """Create database ``name`` (owned by the superuser); returns its SQLAlchemy URL."""
        if not _DB_NAME.match(name):
            raise ValueError(f"database name {name!r}: use lowercase letters, digits and _")
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists is None:
                conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
            elif not exist_ok:
                raise PostgresError(f"database {name!r} already exists")
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting its sessions."""
        if not _DB_NAME.match(name) or name in ("postgres", "template0", "template1"):
            raise ValueError(f"refusing to drop database {name!r}")
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # ---- internals ---------------------------------------------------------------------------

    def _as_os_user(self) -> bool:
        return os.geteuid() == 0

    def _pg(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / program), *args]
        if self._as_os_user():
            command = ["runuser", "-u", OS_USER, "--", *command]
        result = subprocess.run(
            command,
            cwd=self.base_dir,  # postgres cannot chdir into root's home
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        )
        if check and result.returncode != 0:
            raise PostgresError(
                f"{program} {' '.join(args)} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()}"
            )
        return result

    def _prepare_base_dir(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if not self._as_os_user():
            return
        shutil.chown(self.base_dir, user=OS_USER, group=OS_USER)
        probe = subprocess.run(
            ["runuser", "-u", OS_USER, "--", "test", "-x", str(self.base_dir), "-a",
             "-w", str(self.base_dir)],
            cwd="/",
            capture_output=True,
        )  # fmt: skip
        if probe.returncode != 0:
            raise PostgresError(
                f"the {OS_USER} OS user cannot enter {self.base_dir}: a folder above it is "
                "closed to other users (pytest's tmp_path is mode 0700). Use a folder whose "
                "parents are traversable, e.g. tempfile.mkdtemp(dir='/tmp') then chmod 0o755, "
                "or `chmod o+x` the parents."
            )

    def _initdb(self) -> None:
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise PostgresError(
                f"{self.pgdata} is not empty but holds no PostgreSQL cluster (no PG_VERSION): "
                "remove it or pick another folder"
            )
        args = [
            "-D", str(self.pgdata), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--no-locale", "--no-instructions",
        ]  # fmt: skip
        if not self.durable:
            args.append("--no-sync")
        self._pg("initdb", *args)
        conf = self.pgdata / "postgresql.conf"
        text = conf.read_text()
        if "include_if_exists = 'hotline.conf'" not in text:
            # Root can write the postgres-owned file; ownership does not change.
            conf.write_text(text + "\n# Written by hotline.stack.postgres.\n"
                            "include_if_exists = 'hotline.conf'\n")  # fmt: skip

    def _write_config(self) -> None:
        socket_dir = self.socket_dir
        lines = [
            "# Written by hotline.stack.postgres on every start; edit the class, not this file.",
            f"listen_addresses = '{HOST}'",
            f"port = {self.port}",
            "unix_socket_directories = '"
            + (str(socket_dir).replace("'", "''") if socket_dir else "")
            + "'",
            "max_connections = 100",
        ]
        if not self.durable:
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        path = self.pgdata / "hotline.conf"
        path.write_text("\n".join(lines) + "\n")
        if self._as_os_user():
            shutil.chown(path, user=OS_USER, group=OS_USER)

    def _running_port(self) -> int | None:
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            return int(lines[3])
        except (OSError, IndexError, ValueError):
            return None

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
