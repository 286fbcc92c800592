"""Market domain: contract specifications, sessions, order tickets and trading actions (no Qt)."""
