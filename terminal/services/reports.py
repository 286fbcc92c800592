"""HTML reports of stored runs, for `trading-terminal report` and the workbench's "Export
report…": the run's sections (terminal.backtest.report_html), with a Monte Carlo when asked,
written to one file at once (a temporary name, then renamed: a report cut short is never
left under the asked name), readable as the trader's own files are (not the data
directory's private mode)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from terminal.backtest import report_html
from terminal.core.privacy import hand_to_user
from terminal.backtest.runs import DONE, RunNotFound, RunRecord, RunStore
from terminal.services.errors import BadInput
from terminal.services.montecarlo import MonteCarloRun, loss_words, percentile_rows


def monte_carlo_html(run: MonteCarloRun, loss: float) -> str:
    """The Monte Carlo section of a report."""
    return report_html.monte_carlo_section(
        run.description, percentile_rows(run), loss_words(run, loss), run.result.fan(),
        run.actual, run.unit, run.step_labels())


def run_report(record: RunRecord, daily: pd.DataFrame, trades: pd.DataFrame,
               monte_carlo: MonteCarloRun | None = None, loss: float | None = None,
               windows: pd.DataFrame | None = None) -> str:
    """The report of a loaded run (and its Monte Carlo, with the loss asked about); a
    walk-forward's with its `windows` (RunStore.load_windows)."""
    if record.status != DONE:
        raise BadInput(f"run {record.run_id} is {record.status}: only a finished run has "
                       "results to report")
    extra = []
    if monte_carlo is not None:
        if loss is None:
            raise BadInput("loss: a Monte Carlo in a report needs the loss asked about")
        extra.append(monte_carlo_html(monte_carlo, loss))
    try:
        return report_html.run_report(record, daily, trades, extra, windows)
    except ValueError as exc:
        raise BadInput(f"run {record.run_id}: {exc}") from None


def stored_run_report(runs: RunStore, run_id: str, monte_carlo: MonteCarloRun | None = None,
                      loss: float | None = None) -> str:
    """The report of a stored run, read from the run store (slow: for a thread)."""
    try:
        record = runs.get(run_id)
    except RunNotFound:
        raise BadInput(f"run {run_id!r}: no such run in {runs.root}") from None
    return run_report(record, runs.load_daily(run_id), runs.load_trades(run_id), monte_carlo,
                      loss, runs.load_windows(run_id))


def write(path: Path | str, text: str) -> Path:
    """Write the report: a temporary file beside it, flushed, then renamed over `path`."""
    path = Path(path)
    if path.is_dir():
        raise BadInput(f"{path}: a folder, not a file to write the report to")
    if not path.parent.is_dir():
        raise BadInput(f"{path}: its folder {path.parent} does not exist")
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        hand_to_user(temporary)       # a file for the trader: the mode their own tools give
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise BadInput(f"{path}: the report cannot be written ({exc.strerror or exc})") from None
    return path
