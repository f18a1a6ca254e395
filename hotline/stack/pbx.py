"""The PBX: a real Asterisk 22, built by the project and started on loopback.

Debian 12 has no Asterisk package; Debian unstable has Asterisk 22 and the Russian sound
packs. `build` makes a minimal unstable root filesystem with debootstrap (the mirror is read
from this machine's own apt sources), installs the packages in RECIPE into it and caches it;
a changed recipe gives a new cache folder. The Dockerfile in docker/pbx.Dockerfile installs
the same RECIPE packages: keep them the same recipe.

Each stack (the developer's `hotline up`, a test session) has its own instance folder under
its data dir (config, spool, logs, recordings, prompts), bind-mounted into the chroot at
`settings.pbx_instance_path`, so recordings never live inside the cache and several stacks
can share one root filesystem.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import jinja2

from base.settings import REPO_ROOT, Settings
from hotline.stack import procs

log = logging.getLogger("hotline.pbx")

DIALPLANS = REPO_ROOT / "dialplans"

# The recipe: what goes into the PBX root filesystem (and into docker/pbx.Dockerfile).
RECIPE_VERSION = "1"
RECIPE = (
    "asterisk",
    "asterisk-modules",
    "asterisk-core-sounds-ru",
    "asterisk-core-sounds-ru-wav",
)
# Events the controller handles; everything else is filtered out by Asterisk itself.
AMI_EVENTS = (
    "FullyBooted",
    "Shutdown",
    "Reload",
    "Newchannel",
    "Newstate",
    "NewCallerid",
    "Hangup",
    "UserEvent",
    "DialBegin",
    "DialEnd",
    "BridgeEnter",
    "BridgeLeave",
    "OriginateResponse",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "AgentRingNoAnswer",
    "QueueMemberStatus",
    "QueueMemberPause",
    "QueueMemberAdded",
    "QueueMemberRemoved",
    "CoreShowChannel",
    "CoreShowChannelsComplete",
    "QueueParams",
    "QueueMember",
    "QueueEntry",
    "QueueStatusComplete",
)
SOFTPHONES = ("101", "102")
# The longest wait in the operators' queue when the controller is down (the flow's own limit
# is an admin setting, ivr.context.QueueOptions.max_wait_s).
FALLBACK_MAX_WAIT_S = 300
# Test stacks only: the AMI user of the test harness is the controller's name plus this.
AMI_TEST_SUFFIX = "-tests"
# Test stacks only: an internal phone matched by its source address (a sipp caller bound to
# it), so tests reach the diagnostics numbers, which the trunk does not.
TESTER_ADDRESS = "127.0.0.3"


class PbxError(RuntimeError):
    """Something the user can act on: the message says what went wrong and what to do."""


# ---- the root filesystem ------------------------------------------------------------------


def recipe_hash(suite: str) -> str:
    text = "\n".join([RECIPE_VERSION, suite, *RECIPE])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def rootfs_path(settings: Settings) -> Path:
    return settings.pbx_cache_dir / f"{settings.pbx_suite}-{recipe_hash(settings.pbx_suite)}"


def debian_mirror(sources: list[Path] | None = None) -> str:
    """The Debian archive this machine's apt uses (deb822 .sources or one-line .list)."""
    if sources is None:
        sources = [Path("/etc/apt/sources.list")]
        d = Path("/etc/apt/sources.list.d")
        if d.is_dir():
            sources += sorted(p for p in d.iterdir() if p.suffix in (".sources", ".list"))
    candidates: list[str] = []
    for path in sources:
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("#") or not line:
                continue
            if line.startswith("URIs:"):
                candidates += line.split()[1:]
            elif line.startswith("deb "):
                parts = [p for p in line.split() if not p.startswith("[")]
                if len(parts) >= 2:
                    candidates.append(parts[1])
    for uri in candidates:
        if uri.rstrip("/").endswith("/debian"):
            return uri.rstrip("/")
    raise PbxError(
        "no Debian archive found in /etc/apt/sources.list*; set HOTLINE_PBX_MIRROR to a Debian "
        "mirror URL"
    )


def _run(argv: list[str], what: str, log_to: Path | None = None, **kw) -> None:  # type: ignore[no-untyped-def]
    out = open(log_to, "ab") if log_to else subprocess.DEVNULL
    try:
        result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, **kw)
    finally:
        if log_to:
            out.close()  # type: ignore[union-attr]
    if result.returncode != 0:
        hint = f" (see {log_to})" if log_to else ""
        raise PbxError(f"{what} failed with exit code {result.returncode}{hint}")


def build(settings: Settings, force: bool = False) -> Path:
    """Build (or reuse) the cached root filesystem; returns its path."""
    root = rootfs_path(settings)
    marker = root / ".hotline-recipe"
    settings.pbx_cache_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.pbx_cache_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and not force:
            return root
        if shutil.which("debootstrap") is None:
            raise PbxError("debootstrap is not installed: run `make setup` (or apt-get install debootstrap)")
        mirror = settings.pbx_mirror or debian_mirror()
        partial = root.with_name(root.name + ".partial")
        _unmount_under(partial)
        shutil.rmtree(partial, ignore_errors=True)
        build_log = settings.pbx_cache_dir / f"{root.name}.build.log"
        build_log.unlink(missing_ok=True)
        started = time.monotonic()
        log.info("building the PBX root filesystem (%s) from the machine's Debian mirror", settings.pbx_suite)
        _run(
            ["debootstrap", "--variant=minbase", settings.pbx_suite, str(partial), mirror],
            "debootstrap",
            build_log,
        )
        # Don't let package scripts start services inside the chroot.
        policy = partial / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
        # The mirror may serve a frozen snapshot whose Release file is past its Valid-Until.
        apt = ["apt-get", "-o", "Acquire::Check-Valid-Until=false", "-q"]
        _run(["chroot", str(partial), *apt, "update"], "apt-get update in the PBX chroot", build_log, env=env)
        _run(
            ["chroot", str(partial), *apt, "install", "-y", "--no-install-recommends", *RECIPE],
            "installing Asterisk in the PBX chroot",
            build_log,
            env=env,
        )
        _run(["chroot", str(partial), "apt-get", "clean"], "apt-get clean", build_log, env=env)
        for docs in ("usr/share/doc", "usr/share/man", "usr/share/info"):
            shutil.rmtree(partial / docs, ignore_errors=True)
        (partial / ".hotline-recipe").write_text("\n".join(RECIPE) + "\n")
        if root.exists():
            _unmount_under(root)
            shutil.rmtree(root)
        partial.rename(root)
        log.info("PBX root filesystem ready in %.0f s: %s", time.monotonic() - started, root)
        return root


# ---- configuration ------------------------------------------------------------------------


def _moddir(root: Path | None) -> str:
    if root is not None:
        found = sorted((root / "usr/lib").glob("*/asterisk/modules"))
        if found:
            return "/" + str(found[0].relative_to(root))
    return "/usr/lib/x86_64-linux-gnu/asterisk/modules"


def render_config(settings: Settings, root: Path | None = None, controller_host: str | None = None) -> dict[str, str]:
    """Render every dialplans/*.j2 template with this stack's settings."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(DIALPLANS)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    values = {
        "inst": settings.pbx_instance_path,
        "moddir": _moddir(root),
        "node": settings.pbx_node,
        # SIP/RTP face the network (public); AMI and the controller's listeners never do.
        "public_bind": settings.public_bind_address,
        "internal_bind": settings.internal_bind_address,
        "sip_port": settings.sip_port,
        "rtp_start": settings.rtp_port_start,
        "rtp_end": settings.rtp_port_end,
        "ami_port": settings.ami_port,
        "ami_username": settings.ami_username,
        "ami_secret": settings.ami_secret,
        "ami_permit": ami_permit(settings, controller_host),
        # A second AMI user for the test harness only (PJSIPNotify for Go() steps, hangups of
        # leftover channels): the controller's user keeps only the rights it uses.
        "ami_test_user": settings.ami_username + AMI_TEST_SUFFIX if settings.env == "test" else "",
        "ami_events": AMI_EVENTS,
        "sip_password": settings.sip_password,
        "trunk_host": settings.trunk_address,
        "trunk_port": settings.sip_trunk_port,
        "trunk_match": settings.trunk_match,
        # Test phones without passwords (operatorN, calleeN) and the IP-matched internal
        # tester exist only in test stacks.
        "endpoints": settings.test_endpoints if settings.env == "test" else 0,
        "tester_address": TESTER_ADDRESS if settings.env == "test" else "",
        "endpoint_port_base": settings.test_endpoint_port_base,
        "softphones": SOFTPHONES,
        "recordings": settings.pbx_recordings_path,
        "sounds": settings.pbx_sounds_path,
        "controller_host": controller_host or settings.internal_bind_address,
        "agi_port": settings.agi_port,
        "hotline_numbers": [settings.hotline_number, *settings.hotline_numbers_extra],
        # Contexts only tests reach (dialplans/extensions_test.conf.j2).
        "test_stack": settings.env == "test",
        "queue_callback_offer_s": settings.queue_callback_offer_s,
        "fallback_max_wait_s": FALLBACK_MAX_WAIT_S,
    }
    return {
        name[: -len(".j2")]: env.get_template(name).render(**values)
        for name in sorted(os.listdir(DIALPLANS))
        if name.endswith(".j2")
    }


def ami_permit(settings: Settings, controller_host: str | None = None) -> list[str]:
    """Where AMI logins are accepted from: the controller's host (loopback by default)."""
    import ipaddress

    hosts = {"127.0.0.1", settings.internal_bind_address}
    if controller_host:
        hosts.add(controller_host)
    nets = []
    for host in sorted(hosts):
        try:
            net = ipaddress.ip_network(host)
        except ValueError:  # a host name (the Docker setup's service name): its network decides
            continue
        nets.append(f"{net.network_address}/{net.netmask}")
    return nets


# ---- one running instance -----------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    settings: Settings
    root: Path

    @property
    def host_dir(self) -> Path:
        return self.settings.pbx_instance_dir

    @property
    def mountpoint(self) -> Path:
        return self.root / self.settings.pbx_instance_path.lstrip("/")

    @property
    def pidfile(self) -> Path:
        return self.settings.run_dir / "asterisk.pid"

    @property
    def conf(self) -> str:
        return f"{self.settings.pbx_instance_path}/etc/asterisk.conf"

    def ids(self) -> tuple[int, int]:
        """The asterisk user's uid and gid as the chroot knows them."""
        for line in (self.root / "etc/passwd").read_text().splitlines():
            parts = line.split(":")
            if parts[0] == "asterisk":
                return int(parts[2]), int(parts[3])
        raise PbxError(f"no asterisk user in {self.root}/etc/passwd: rebuild with `hotline pbx build --force`")

    def write_config(self) -> None:
        uid, gid = self.ids()
        for sub in ("etc", "db", "spool", "run", "log", "log/cel", "cache", "recordings", "sounds"):
            path = self.host_dir / sub
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, uid, gid)
        os.chown(self.host_dir, uid, gid)
        for name, text in render_config(self.settings, self.root).items():
            target = self.host_dir / "etc" / name
            target.write_text(text)
            target.chmod(0o640)
            os.chown(target, uid, gid)

    def prepare_root(self) -> None:
        """Things the chroot needs from this host: its hostname resolvable, a mount point."""
        hostname = socket.gethostname()
        hosts = f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n::1\tlocalhost ip6-localhost\n"
        (self.root / "etc/hosts").write_text(hosts)
        (self.root / "etc/hostname").write_text(hostname + "\n")
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        if not _is_mounted(self.mountpoint):
            _run(["mount", "--bind", str(self.host_dir), str(self.mountpoint)], "bind-mounting the PBX instance folder")

    def asterisk_rx(self, command: str, timeout: float = 30.0) -> str:
        result = subprocess.run(
            ["chroot", str(self.root), "/usr/sbin/asterisk", "-C", self.conf, "-rx", command],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise PbxError(f"asterisk -rx {command!r}: {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def running_pid(self) -> int | None:
        return procs.read_pid(self.pidfile)

    def start(self, timeout: float = 60.0) -> int:
        pid = self.running_pid()
        if pid is not None:
            return pid
        self.host_dir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        self.prepare_root()
        # A previous run killed hard leaves its control socket behind.
        (self.host_dir / "run" / "asterisk.ctl").unlink(missing_ok=True)
        proc = procs.spawn(
            "asterisk",
            [
                "chroot", str(self.root),
                "/usr/sbin/asterisk", "-f", "-n", "-U", "asterisk", "-G", "asterisk", "-C", self.conf,
            ],
            self.settings.run_dir,
            self.settings.log_dir,
            env={"TZ": "UTC"},  # its local times (CoreStatus) are then UTC: calls/handlers.py
            marker=self.conf,
        )
        def booted() -> bool:
            if not procs.alive(proc.pid):
                raise PbxError(f"Asterisk exited during start-up; see {proc.logfile} and {self.host_dir}/log/messages.log")
            try:
                self.asterisk_rx("core waitfullybooted", timeout=timeout)
                return True
            except (PbxError, subprocess.TimeoutExpired):
                return False
        procs.wait_for(booted, timeout, "Asterisk to finish booting", interval=0.2)
        log.info("Asterisk running (pid %s), SIP %s:%s, AMI %s:%s", proc.pid, self.settings.public_bind_address,
                 self.settings.sip_port, self.settings.internal_bind_address, self.settings.ami_port)
        return proc.pid

    def kill(self) -> None:
        """SIGKILL, as a crash would: used by tests of the controller's recovery."""
        pid = self.running_pid()
        if pid is not None:
            os.kill(pid, 9)
            procs.wait_gone(pid, 10)

    def stop(self, timeout: float = 20.0) -> bool:
        pid = self.running_pid()
        stopped = False
        if pid is not None:
            try:
                self.asterisk_rx("core stop now", timeout=10)
            except (PbxError, subprocess.TimeoutExpired):
                pass
            if not procs.wait_gone(pid, timeout):
                procs.stop(self.pidfile, timeout=5)
            stopped = True
        self.pidfile.unlink(missing_ok=True)
        if _is_mounted(self.mountpoint):
            subprocess.run(["umount", "-l", str(self.mountpoint)], check=False)
        return stopped


def instance(settings: Settings, build_if_missing: bool = True) -> Instance:
    root = rootfs_path(settings)
    if not (root / ".hotline-recipe").exists():
        if not build_if_missing:
            raise PbxError("the PBX is not built yet: run `hotline pbx build`")
        root = build(settings)
    return Instance(settings, root)


def _mounts() -> list[str]:
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return []
    return [line.split()[1].replace("\\040", " ") for line in lines if len(line.split()) > 1]


def _is_mounted(path: Path) -> bool:
    return str(path.resolve()) in _mounts()


def _unmount_under(path: Path) -> None:
    prefix = str(path.resolve())
    for mount in sorted(_mounts(), reverse=True):
        if mount == prefix or mount.startswith(prefix + "/"):
            subprocess.run(["umount", "-l", mount], check=False)
