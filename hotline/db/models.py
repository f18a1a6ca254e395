"""Every domain's models, imported in one place so ``Base.metadata`` holds the whole schema.

Alembic's env.py imports this module. A new domain with tables adds its import here.
"""

import accounts.models  # noqa: F401
import callback_queue.models  # noqa: F401
import calls.models  # noqa: F401
import ivr.models  # noqa: F401
import outages.models  # noqa: F401
import speech.models  # noqa: F401
import base.config_store  # noqa: F401
from base.db.base import Base

metadata = Base.metadata

__all__ = ["Base", "metadata"]
