"""The store's error: what every caller (CLI, docks, backtests) catches and shows."""

from __future__ import annotations


class StoreError(RuntimeError):
    """A file of the store cannot be read or written; the message names it."""
