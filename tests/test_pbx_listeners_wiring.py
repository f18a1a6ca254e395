"""The controller's FastAGI and AudioSocket listeners, as wired: on the internal address, and
serving only the PBX, which connects from that address (not from the public one)."""

from __future__ import annotations

from pathlib import Path

from base.settings import Settings
from hotline.wiring import build_controller


async def test_listeners_accept_only_the_pbx_address(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path, internal_bind_address="127.0.0.8",
                        public_bind_address="127.0.0.9")
    controller = build_controller(settings)
    for listener in (controller.agi, controller.audio):
        assert listener.host == "127.0.0.8"
        assert listener.allowed_peers == ("127.0.0.8",)
