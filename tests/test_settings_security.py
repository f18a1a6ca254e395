"""Settings refuse what would expose the stack: weak secrets off loopback, unsafe characters
in secrets written into the PBX's configuration, internal listeners on the network."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from base.settings import Settings

STRONG = {
    "ami_secret": "Ami-secret-0123456789",
    "sip_password": "Sip-password-0123456789",
    "redis_password": "Redis-password-0123456789",
    "console_secret_key": "console-secret-0123456789",
    "billing_api_token": "billing-token-0123456789",
    "staff_api_token": "staff-token-0123456789",
}


def make(tmp_path: Path, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path, **kw)  # type: ignore[arg-type]


def test_development_on_loopback_keeps_the_development_secrets(tmp_path: Path) -> None:
    s = make(tmp_path)
    assert not s.faces_network
    assert s.redis_dsn.startswith("redis://:dev-redis-password-change-me@127.0.0.1:")


@pytest.mark.parametrize("env", ["development", "test"])
def test_a_public_bind_off_loopback_refuses_development_secrets_whatever_the_env(
    tmp_path: Path, env: str
) -> None:
    with pytest.raises(ValidationError) as err:
        make(tmp_path, env=env, public_bind_address="0.0.0.0")
    text = str(err.value)
    for name in ("HOTLINE_AMI_SECRET", "HOTLINE_SIP_PASSWORD", "HOTLINE_REDIS_PASSWORD",
                 "HOTLINE_CONSOLE_SECRET_KEY", "HOTLINE_BILLING_API_TOKEN"):
        assert name in text
    assert "0.0.0.0" in text


def test_a_private_internal_bind_refuses_development_secrets(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="HOTLINE_AMI_SECRET"):
        make(tmp_path, internal_bind_address="10.0.0.5")


def test_a_short_secret_is_refused_off_loopback(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="HOTLINE_REDIS_PASSWORD"):
        make(tmp_path, public_bind_address="192.0.2.10", **{**STRONG, "redis_password": "short1"})


def test_strong_secrets_off_loopback_are_accepted(tmp_path: Path) -> None:
    s = make(tmp_path, public_bind_address="192.0.2.10", internal_bind_address="10.0.0.5", **STRONG)
    assert s.faces_network
    assert s.redis_dsn == "redis://:Redis-password-0123456789@10.0.0.5:6390/0"


def test_production_on_loopback_still_refuses_development_secrets(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="in production"):
        make(tmp_path, env="production")
    assert make(tmp_path, env="production", **STRONG).env == "production"


@pytest.mark.parametrize("variable", ["ami_secret", "sip_password", "redis_password"])
@pytest.mark.parametrize("value", ["abc;def-0123456789", "abcdef0123456\nwrite = system",
                                   "with space 0123456789", 'quote"0123456789'])
def test_secrets_written_into_pbx_config_have_a_safe_character_set(
    tmp_path: Path, variable: str, value: str
) -> None:
    """A `;` cuts a config line, a newline adds one: refused in every environment, by name."""
    with pytest.raises(ValidationError) as err:
        make(tmp_path, **{variable: value})
    assert f"HOTLINE_{variable.upper()}" in str(err.value)
    assert "letters, digits" in str(err.value)


def test_a_generated_secret_is_accepted(tmp_path: Path) -> None:
    s = make(tmp_path, ami_secret="q1W+e2/R3t4Y5u6I7o8P9a0S=", sip_password="Ab_cd-ef.gh~ij12")
    assert s.ami_secret.startswith("q1W")


@pytest.mark.parametrize("address", ["0.0.0.0", "77.88.8.8", "8.8.8.8", "::"])
def test_internal_listeners_never_face_the_network(tmp_path: Path, address: str) -> None:
    with pytest.raises(ValidationError, match="HOTLINE_INTERNAL_BIND_ADDRESS"):
        make(tmp_path, internal_bind_address=address, **STRONG)


@pytest.mark.parametrize(
    "field", ["public_bind_address", "internal_bind_address", "trunk_address"]
)
def test_addresses_written_into_config_must_be_ip_addresses(tmp_path: Path, field: str) -> None:
    with pytest.raises(ValidationError, match="not an IP address"):
        make(tmp_path, **{field: "127.0.0.1\npermit=0.0.0.0/0"})


def test_the_trunk_is_matched_by_its_address_and_networks(tmp_path: Path) -> None:
    s = make(tmp_path, trunk_address="198.51.100.7", trunk_networks=["198.51.100.64/28"])
    assert s.trunk_match == ["198.51.100.7/32", "198.51.100.64/28"]
    with pytest.raises(ValidationError, match="HOTLINE_TRUNK_NETWORKS"):
        make(tmp_path, trunk_networks=["nowhere"])
