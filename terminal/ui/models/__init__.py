"""Table models over the terminal's live state, updated in place."""
