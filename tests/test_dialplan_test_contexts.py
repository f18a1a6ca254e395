"""Contexts that only tests reach (dialplans/extensions_test.conf.j2) exist in test stacks only."""

from __future__ import annotations

from pathlib import Path

import pytest

from base.settings import Settings
from hotline.stack.pbx import render_config


@pytest.mark.parametrize(("env", "present"), [("test", True), ("development", False)])
def test_capture_contexts_only_in_test_stacks(tmp_path: Path, env: str, present: bool) -> None:
    conf = render_config(Settings(env=env, data_dir=tmp_path))  # type: ignore[arg-type]
    assert "#tryinclude extensions_test.conf" in conf["extensions.conf"]
    test_only = conf["extensions_test.conf"]
    assert ("[test-agi-capture]" in test_only) is present
    assert ("[test-agi-gosub]" in test_only) is present
    # Nothing else includes them: no phone and no trunk call reaches them.
    assert "include => test-" not in conf["extensions.conf"]
