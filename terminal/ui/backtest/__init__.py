"""The backtest workbench: settings, runs in worker processes, results, history, comparison
and optimisation (see `workbench.py`)."""

from terminal.ui.backtest.workbench import BacktestWorkbench

__all__ = ["BacktestWorkbench"]
