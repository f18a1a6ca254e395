"""Planned outages as data: from the grid company's files, told to callers (README.md)."""
