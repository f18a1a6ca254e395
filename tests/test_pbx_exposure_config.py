"""The rendered PBX configuration: what faces the network, who may set the caller's number,
which test phones exist, and what the controller's AMI user may do (pure: templates in,
text out; the real PBX is checked in tests/e2e/test_exposure.py)."""

from __future__ import annotations

import re
from pathlib import Path

from base.settings import Settings
from hotline.stack.pbx import render_config


def blocks(conf: str) -> list[tuple[str, str, list[str]]]:
    """Each section as (name, template, lines), comments dropped, in order."""
    out: list[tuple[str, str, list[str]]] = []
    for raw in conf.splitlines():
        line = raw.split(";", 1)[0].strip()
        head = re.fullmatch(r"\[([^\]]+)\](?:\(([^)]*)\))?", line)
        if head:
            out.append((head.group(1), head.group(2) or "", []))
        elif line and out:
            out[-1][2].append(line)
    return out


def sections(conf: str) -> dict[str, list[str]]:
    """Section name -> its lines, several sections of one name merged (pjsip's style)."""
    merged: dict[str, list[str]] = {}
    for name, _, lines in blocks(conf):
        merged.setdefault(name, []).extend(lines)
    return merged


def endpoints(conf: str) -> dict[str, list[str]]:
    """Endpoint sections (those built on the media template), by name."""
    return {name: lines for name, template, lines in blocks(conf) if template == "media"}


def render(tmp_path: Path, **kw: object) -> dict[str, str]:
    return render_config(Settings(data_dir=tmp_path, **kw))  # type: ignore[arg-type]


def test_public_and_internal_listeners_are_separate(tmp_path: Path) -> None:
    conf = render(tmp_path, env="test", public_bind_address="127.0.0.9",
                  internal_bind_address="127.0.0.8")
    assert "bind = 127.0.0.9:" in conf["pjsip.conf"]
    assert "media_address = 127.0.0.9" in conf["pjsip.conf"]  # RTP with SIP, not everywhere
    assert "bind_rtp_to_media_address = yes" in conf["pjsip.conf"]
    assert "bindaddr = 127.0.0.8" in conf["manager.conf"]
    assert "agi://127.0.0.8:" in conf["extensions.conf"]


def test_only_the_trunk_may_set_the_callers_number(tmp_path: Path) -> None:
    conf = render(tmp_path, env="test", trunk_address="198.51.100.7")["pjsip.conf"]
    trusted = [name for name, _, lines in blocks(conf) if "trust_id_inbound = yes" in lines]
    assert trusted == ["trunk"]
    template = next(lines for name, t, lines in blocks(conf) if name == "media" and t == "!")
    assert "trust_id_inbound = no" in template
    identify = sections(conf)["trunk"]
    assert "match = 198.51.100.7/32" in identify
    assert "contact = sip:198.51.100.7:5070" in identify


def test_every_endpoint_authenticates_or_is_matched_by_address(tmp_path: Path) -> None:
    conf = render(tmp_path, env="test", test_endpoints=2)["pjsip.conf"]
    found = endpoints(conf)
    assert {"101", "102", "operator1", "callee2", "trunk", "tester"} <= set(found)
    identified = {line.split("=")[1].strip() for lines in sections(conf).values()
                  for line in lines if line.startswith("endpoint =")}
    for name, lines in found.items():
        assert any(x.startswith("auth =") for x in lines) or name in identified, name
    # Matched by address: the trunk (its own address) and the test stacks' tester.
    assert identified == {"trunk", "tester"}


def test_test_phones_exist_only_in_test_stacks(tmp_path: Path) -> None:
    dev = render(tmp_path)["pjsip.conf"]
    assert "[operator1]" not in dev and "[callee1]" not in dev and "[tester]" not in dev
    test = render(tmp_path, env="test")["pjsip.conf"]
    assert "[operator1]" in test and "[tester]" in test


def test_the_trunk_reaches_only_the_hotline_numbers(tmp_path: Path) -> None:
    ext = sections(render(tmp_path)["extensions.conf"])
    trunk = ext["from-trunk"]
    assert not [x for x in trunk if x.startswith("include")]
    assert sorted(x.split("=>")[1].split(",")[0].strip() for x in trunk) == ["8800", "88001000000"]
    # Nothing that answers outside [hotline]'s recorded path is reachable from the trunk.
    assert "include => diagnostics" in ext["internal"]
    assert not [x for x in ext["no-service"] if "Answer" in x]


def test_the_controllers_ami_user_has_no_system_or_command_rights(tmp_path: Path) -> None:
    manager = sections(render(tmp_path, env="test")["manager.conf"])
    user = manager["hotline"]
    rights = {line.split("=", 1)[0].strip(): line.split("=", 1)[1].strip()
              for line in user if line.startswith(("read", "write"))}
    for key in ("read", "write"):
        assert not {"system", "command", "all", "config"} & set(rights[key].split(","))
    assert "hotline-tests" in manager  # the harness's own user, test stacks only
    assert "hotline-tests" not in sections(render(tmp_path)["manager.conf"])
