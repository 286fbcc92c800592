"""A backtest, the way the command line runs it: the strategy from the catalog, typed
parameters, the bars from the store with their warm-up (built from shorter bars when asked),
costs from the contract table unless given, vn.py's engine in this process, and the run kept
in the run store (terminal.backtest.runs) as done with its results or failed with the error.

- Costs: size, pricetick and rate default to the product's entry in the contract table
  (terminal.market.contracts); a product charging a fee per lot gets that fee as a rate of
  the first bar's contract value. Where each came from is kept with the run. Slippage
  defaults to 0, capital to 1,000,000.
- Kept: the settings, all the strategy's parameters, status done with the statistics, daily
  results and trades, or failed with the error when the strategy raised. Bad input (BadInput,
  its message naming the value) keeps nothing.

The workbench runs its backtests in worker processes instead: services.backtest_runs.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from terminal.backtest import intervals
from terminal.backtest.engine import BacktestSettings, run, strategy_failure, warmup_summary
from terminal.backtest.intervals import BAR_LENGTHS
from terminal.backtest.pool_jobs import run_notes
from terminal.backtest.runs import FAILED, RUNNING, RunStore
from terminal.backtest.stats import report
from terminal.core.paths import DataPaths
from terminal.market.contracts import spec_for
from terminal.plugins.loader import StrategyEntry
from terminal.services import backtest_bars
from terminal.services.backtest_bars import Bars
from terminal.services.errors import BadInput

INTERVALS = BAR_LENGTHS                 # 5m, 15m, 30m, 4h handed over as vn.py runs them
RUNS_FOLDER = "backtests"
DEFAULT_CAPITAL = 1_000_000.0
COST_NAMES = ("capital", "rate", "slippage", "size", "pricetick")


@dataclass
class Costs:
    """Capital and costs as given; None takes the contract table's (size, pricetick, rate)
    or the default (capital 1,000,000, slippage 0)."""

    capital: float | None = None
    rate: float | None = None
    slippage: float | None = None
    size: float | None = None
    pricetick: float | None = None


@dataclass
class Prepared:
    """Everything checked and loaded: what a backtest or an optimisation runs."""

    entry: StrategyEntry
    settings: BacktestSettings
    params: dict                    # the parameters given, typed
    bars: Bars
    sources: dict[str, str]         # setting -> where its value came from
    ranges: dict = field(default_factory=dict)      # an optimisation's, by parameter

    @property
    def all_params(self) -> dict:
        return {**self.entry.parameters, **self.params}

    def close(self) -> None:
        self.bars.close()


@dataclass
class Outcome:
    """How a backtest in this process went: the run kept, and its statistics or the failure
    (the strategy's traceback)."""

    run_id: str
    runs_root: Any
    stats: dict | None = None
    failure: str | None = None
    warmup: str = ""                # what the strategy's load_bar calls actually got


def check_interval(interval: str) -> str:
    """A bar length a backtest runs on; BadInput naming the ones it does for another."""
    interval = interval.strip()
    if interval not in INTERVALS:
        hint = ""
        if interval.endswith(("m", "h")) and interval[:-1].isdigit():
            hint = (f"; for {interval} bars run on 1m and let the strategy build them "
                    "(BarGenerator with a window)")
        raise BadInput(f"--interval {interval!r}: a backtest runs on "
                       f"{', '.join(INTERVALS)} bars{hint}")
    return interval


def prepare(paths: DataPaths, entry: StrategyEntry, symbol: str, exchange, interval: str,
            start: datetime, end: datetime, costs: Costs, params: dict,
            warmup_days: int | None = None) -> Prepared:
    """The settings and the bars of a backtest; BadInput names what is missing."""
    settings = BacktestSettings(
        f"{symbol}.{exchange.value}", start, end, intervals.setting(interval),
        capital=DEFAULT_CAPITAL if costs.capital is None else costs.capital,
        slippage=0.0 if costs.slippage is None else costs.slippage)
    bars = backtest_bars.load(paths, symbol, exchange, interval, settings, warmup_days)
    try:
        if not bars.history:
            raise BadInput(f"no {interval} bars of {settings.vt_symbol} from {day(start)} "
                           f"to {day(end)} in the store; "
                           f"{backtest_bars.holdings(paths, symbol, exchange)}")
        sources = contract_settings(costs, settings, symbol, exchange,
                                    bars.history[0].close_price)
    except BaseException:
        bars.close()
        raise
    return Prepared(entry, settings, params, bars, sources)


def day(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}" if moment.time() == datetime.min.time() \
        else f"{moment:%Y-%m-%d %H:%M}"


def contract_settings(costs: Costs, settings: BacktestSettings, symbol: str, exchange,
                      first_price: float) -> dict[str, str]:
    """Fill size, pricetick and rate from the costs given or the contract table; returns
    where each setting came from. A product charging a fee per lot gets that fee as a rate
    of the first bar's contract value (vn.py's engine charges a rate only)."""
    try:
        spec = spec_for(symbol, exchange, first_price)
    except KeyError:
        spec = None
    table = f"contract table, {spec.product} ({spec.name})" if spec else ""
    sources = {name: "default" if getattr(costs, name) is None else "given"
               for name in ("capital", "slippage")}
    missing = [name for name in ("size", "pricetick") if getattr(costs, name) is None]
    if missing and spec is None:
        raise BadInput(f"{symbol}.{exchange.value}: no contract table entry for its product; "
                       f"give {' and '.join('--' + m for m in missing)} (and --rate)")
    for name in ("size", "pricetick"):
        given = getattr(costs, name)
        setattr(settings, name, given if given is not None else getattr(spec, name))
        sources[name] = "given" if given is not None else table
    if costs.rate is not None:
        settings.rate, sources["rate"] = costs.rate, "given"
    elif spec is None:
        settings.rate, sources["rate"] = 0.0, "default (no contract table entry)"
    elif spec.fee_per_lot and not spec.fee_rate:
        value = first_price * settings.size
        settings.rate = spec.fee_per_lot / value if value > 0 else 0.0
        sources["rate"] = (f"{table}: a fee of {spec.fee_per_lot:g} per lot, as a rate of the "
                           f"first bar's contract value ({first_price:g} x {settings.size:g})")
    else:
        settings.rate = spec.fee_rate
        sources["rate"] = table + (f" (its {spec.fee_per_lot:g} per lot left out)"
                                   if spec.fee_per_lot else "")
    return sources


def record_settings(prepared: Prepared, **extra: Any) -> dict:
    """The settings a run of this process keeps: the engine's, where the bars, the warm-up
    and each cost came from, and `extra` (an optimisation's search)."""
    s = prepared.settings
    return {"rate": s.rate, "slippage": s.slippage, "size": s.size, "pricetick": s.pricetick,
            "capital": s.capital, "mode": plain(s.mode), "risk_free": s.risk_free,
            "annual_days": s.annual_days, "half_life": s.half_life,
            "warmup": prepared.bars.warmup, "bars": prepared.bars.bars_from,
            "sources": dict(prepared.sources), "command": "cli", **extra}


def plain(value: Any) -> Any:
    return getattr(value, "value", value)


def backtest(prepared: Prepared, params: dict | None = None) -> tuple[Any, dict | None, str | None]:
    """vn.py's engine on the prepared bars with `params` (the prepared ones by default):
    (the engine's outcome, the statistics or None, the strategy's traceback or None)."""
    outcome = run(prepared.entry.cls, prepared.bars.history, prepared.settings,
                  prepared.params if params is None else params,
                  bar_loader=prepared.bars.load_bars)
    failure = strategy_failure(outcome.engine)
    return outcome, None if failure else report(outcome.engine, outcome.statistics), failure


def run_and_keep(prepared: Prepared, paths: DataPaths) -> Outcome:
    """Run the backtest here and keep it in the run store: done with its statistics, daily
    results and trades, or failed with the strategy's traceback (or "interrupted")."""
    with RunStore(paths.root / RUNS_FOLDER) as runs:
        s = prepared.settings
        run_id = runs.create(prepared.entry.name, s.vt_symbol, s.interval, s.start, s.end,
                             record_settings(prepared), prepared.all_params)
        runs.set_status(run_id, RUNNING)
        try:
            outcome, stats, failure = backtest(prepared)
        except KeyboardInterrupt:
            runs.set_status(run_id, FAILED, "interrupted")
            raise
        except Exception:  # noqa: BLE001 - a strategy's bug fails this run, kept with its traceback
            failure = traceback.format_exc()
        if failure is not None:
            runs.set_status(run_id, FAILED, failure)
            return Outcome(run_id, runs.root, failure=failure)
        runs.save_result(run_id, {**stats, **run_notes(prepared.bars.bars_from,
                                                       outcome.engine.warmups)},
                         outcome.daily, outcome.engine.trades)   # notes as the workbench's
        return Outcome(run_id, runs.root, stats=stats,
                       warmup=warmup_summary(outcome.engine.warmups))
