"""Starting and stopping the parts of the stack, in the one order they need."""

from __future__ import annotations

from hotline.settings import Settings
from hotline.stack import pbx


def prompts_cache(settings: Settings):  # type: ignore[no-untyped-def]
    return settings.pbx_cache_dir.parent / "prompts"


def start_pbx(settings: Settings, timeout: float = 60.0) -> pbx.Instance:
    """Build (or reuse) the PBX, install the prompts, render the config and start Asterisk."""
    from ivr import prompts

    inst = pbx.instance(settings)
    uid, gid = inst.ids()
    prompts.install(settings.pbx_instance_dir / "sounds", prompts_cache(settings), uid, gid)
    inst.start(timeout=timeout)
    return inst
