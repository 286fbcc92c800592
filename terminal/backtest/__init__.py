"""Backtests on vnpy_ctastrategy's BacktestingEngine fed from the terminal's market store, and
their statistics (no Qt)."""
