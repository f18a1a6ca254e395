"""Run the operator console (application layer: migrates the database, then serves)."""

from __future__ import annotations

import logging

from base.settings import Settings
from hotline.db import upgrade
from operator_console.app import create_app

log = logging.getLogger("operator_console")

__all__ = ["serve"]


def serve(settings: Settings, migrate: bool = True) -> None:
    """Run the console with uvicorn on ``settings.public_bind_address:settings.console_port``.

    The database is migrated first unless ``migrate`` is False (concurrent upgrades of one
    PostgreSQL database take turns, so the controller may be migrating at the same time).
    """
    import uvicorn

    if migrate:
        upgrade(settings.db_url)
    log.info("console on http://%s:%s/", settings.public_bind_address, settings.console_port)
    uvicorn.run(
        create_app(settings),
        host=settings.public_bind_address,
        port=settings.console_port,
        log_level="info",
    )
