"""Planned outages as data: imported from the grid company's files, told to callers (see README.md)."""
