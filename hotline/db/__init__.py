"""The whole schema and its migrations (application layer): every domain's models, Alembic.

The database core (base class, engines, types) is :mod:`base.db`; this package only knows
all the domains' tables, so it sits above them.
"""

from hotline.db.migrate import MIGRATIONS_DIR, alembic_config, migrated_session, upgrade

__all__ = ["MIGRATIONS_DIR", "alembic_config", "migrated_session", "upgrade"]
