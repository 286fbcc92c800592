"""The error every service raises for input it cannot work with: the CLI prints it and exits 2,
a dock shows it beside the field or in its status line."""

from __future__ import annotations


class BadInput(ValueError):
    """Input a use case cannot run with; the message names the value."""
