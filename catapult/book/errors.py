"""The build's one error: what failed and where, in a message the reader can act on."""

from __future__ import annotations

__all__ = ["BuildError"]


class BuildError(RuntimeError):
    """A chapter failed to execute, or a claim did not hold; the message says which."""
