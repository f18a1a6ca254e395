"""The base layer: settings, clock, database core, privacy, events, errors, metrics.

It imports no domain and nothing of the application (`hotline`); every domain builds on it.
Below it sits only `telephony` (the protocols). The rule is checked by import-linter
(`[tool.importlinter]` in pyproject.toml).
"""
