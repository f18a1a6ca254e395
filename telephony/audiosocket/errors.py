"""Exceptions of the AudioSocket package."""

from __future__ import annotations


class AudioSocketError(Exception):
    """Base class of every AudioSocket error."""


class AudioSocketProtocolError(AudioSocketError, ValueError):
    """The peer sent a frame that breaks the AudioSocket rules or the parser limits."""


class AudioSocketClosed(AudioSocketError):
    """Audio was sent on a stream that is already closed (hung up or disconnected)."""
