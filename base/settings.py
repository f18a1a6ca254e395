"""All configuration in one class, read from the environment (prefix ``HOTLINE_``) and ``.env``.

Defaults are the embedded development stack: SQLite under ``var/``, Redis and Asterisk
started by the project on loopback. Outside development the class refuses the
development secrets, so a production deployment cannot start with them by mistake.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]

DEV_AMI_SECRET = "dev-ami-secret-change-me"
DEV_CONSOLE_SECRET = "dev-console-secret-change-me"
DEV_SIP_PASSWORD = "dev-sip-password"
DEV_BILLING_TOKEN = "dev-billing-token-change-me"
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

    # Asterisk. Built into a Debian-unstable chroot cached under pbx_cache_dir.
    pbx_cache_dir: Path = Field(default=Path.home() / ".cache" / "hotline" / "pbx")
    pbx_suite: str = "unstable"
    pbx_mirror: str = ""  # empty: read from this machine's apt sources
    pbx_node: str = "pbx1"  # names this PBX node in call records
    # Where Asterisk sees this stack's instance folder; empty: /srv/hotline/<hash of data_dir>.
    pbx_mount: str = ""
    bind_address: str = "127.0.0.1"
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

    # AMI reconnect backoff (seconds).
    ami_backoff_initial: float = 0.5
    ami_backoff_max: float = 10.0

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> "Settings":
        if self.env == "production":
            bad = [
                name
                for name, value, default in (
                    ("HOTLINE_AMI_SECRET", self.ami_secret, DEV_AMI_SECRET),
                    ("HOTLINE_CONSOLE_SECRET_KEY", self.console_secret_key, DEV_CONSOLE_SECRET),
                    ("HOTLINE_SIP_PASSWORD", self.sip_password, DEV_SIP_PASSWORD),
                    ("HOTLINE_BILLING_API_TOKEN", self.billing_api_token, DEV_BILLING_TOKEN),
                    ("HOTLINE_STAFF_API_TOKEN", self.staff_api_token, DEV_STAFF_TOKEN),
                )
                if value == default or len(value) < 12
            ]
            if self.clock_offset_seconds:
                bad.append("HOTLINE_CLOCK_OFFSET_SECONDS (a test setting)")
            if bad:
                raise ValueError(
                    "refusing to start in production with development or short secrets: "
                    + ", ".join(bad)
                    + " (set each to a random string of at least 12 characters)"
                )
        return self

    # ---- derived values -------------------------------------------------------------------

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'hotline.db'}"

    @property
    def redis_dsn(self) -> str:
        return self.redis_url or f"redis://{self.bind_address}:{self.redis_port}/0"

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


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
