"""`trading-terminal backtest|optimize ...`: backtests and optimisations from the command line.

    backtest STRATEGY SYMBOL.EXCHANGE --start D --end D [--interval 1m] [settings]
             [--param NAME=VALUE ...]
    optimize STRATEGY SYMBOL.EXCHANGE --start D --end D [--interval 1m] [settings]
             --range NAME=START:STOP:STEP|V1,V2,... [--range ...] [--param NAME=VALUE ...]
             [--target sharpe_ratio] [--minimise] [--top 10]
             [--genetic [--population 20] [--generations 10] [--seed N]]
             [--workers N | --scheduler tcp://host:8786]

Both read the bars from the data directory's market store (the one the terminal's windows
use), take the strategy class from the plugin catalog (the shipped `plugins/`, the user's
`plugin_folder` from settings.json, then vnpy_ctastrategy's bundled strategies) and run
vnpy_ctastrategy's BacktestingEngine through `terminal.backtest.engine.run`. A user's plugin
file is imported here only after its check in a child process passed (only the files whose
text defines a class of that name are checked); one that raises, exits or hangs while
importing is bad input, named with the reason.

- Bars: `--interval` is what vn.py's engine runs on: 1m, 1h or d. A series stored at that
  interval is used as is; 1h and d bars are otherwise built in memory from the shortest stored
  intraday series that divides them, on the product's trading sessions (the same rules as
  `data resample`); nothing is written to the store.
- Warm-up (`load_bar(days)` in a strategy's on_init): `backtest` reads it from the store, as
  the workbench and vn.py do; `optimize` reads the bars once, from `--warmup-days` (30)
  before the start, and every setting's warm-up is served from them (the workbench's
  optimiser does the same), as is the best setting's backtest that is saved.
- Settings: size, pricetick and rate default to the product's entry in the contract table
  (`terminal.market.contracts`); a product charging a fee per lot gets that fee as a rate of
  the first bar's contract value, since vn.py's engine charges a rate only. The output says
  where each came from. Slippage defaults to 0, capital to 1,000,000.
- Saved, in the run store at `<data dir>/backtests` (`runs.db` and one folder per run):
  `backtest` saves one run: its settings, all the strategy's parameters, status `done` with
  the statistics, daily results and trades (`daily.parquet`, `trades.parquet`), or `failed`
  with the error when the strategy raised. `optimize` saves one run too: the best setting,
  backtested again in this process for its daily results and trades, with the search
  described under the settings' "optimisation" key and the table of every evaluated setting
  (parameters, target, vn.py's statistics, error) as `optimisation.parquet` in its folder.
  Bad input saves nothing.

Exit codes: 0 done; 1 the backtest failed (the strategy raised) or no setting gave the
target; 2 bad input (the message on stderr names the value); 130 interrupted.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from terminal.core.paths import DataPaths
from terminal.core.symbols import BadSymbol, split_vt_symbol

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
INTERVALS = ("1m", "1h", "d")           # what vn.py's BacktestingEngine runs on
RUNS_FOLDER = "backtests"
TABLE_FILE = "optimisation.parquet"
DEFAULT_CAPITAL = 1_000_000.0
DEFAULT_WARMUP_DAYS = 30
# vn.py's statistics shown beside the target in the optimisation table
TABLE_STATISTICS = ("total_return", "max_ddpercent", "sharpe_ratio", "total_trade_count")


class BadInput(ValueError):
    """Input the commands cannot run with; the message names the value."""


# ---------------------------------------------------------------------- parsers
def add_parsers(subparsers) -> None:
    """The two commands' parsers (nothing of vn.py imported: the data directory is not
    prepared yet)."""
    backtest = subparsers.add_parser(
        "backtest", help="backtest a strategy on stored bars, print the statistics, save the run",
        description="Backtest a strategy on the market store's bars with vn.py's "
        "BacktestingEngine; prints the statistics and saves the run in <data dir>/backtests.")
    _common(backtest)
    optimize = subparsers.add_parser(
        "optimise", help="grid or genetic search of a strategy's parameters",
        description="Search a strategy's parameters (grid, or genetic with --genetic) in "
        "parallel processes; prints the best settings by the target and saves the best one's "
        "backtest as a run, with the table of every setting evaluated as optimisation.parquet.")
    _common(optimize)
    optimize.set_defaults(command="optimise")
    subparsers.choices["optimize"] = optimize       # the old spelling, still run, not listed
    optimize.add_argument(
        "--range", dest="ranges", action="append", default=[], metavar="NAME=START:STOP:STEP",
        help="a parameter to optimise: START:STOP:STEP (STOP included) or a list V1,V2,... "
        "(repeat for each parameter)")
    optimize.add_argument("--target", default="sharpe_ratio", metavar="STAT",
                          help="the statistic of vn.py's to optimise: sharpe_ratio (default), "
                          "ewm_sharpe, return_drawdown_ratio, rgr_ratio, total_return, "
                          "annual_return, total_net_pnl, daily_net_pnl, end_balance, "
                          "max_drawdown, max_ddpercent, daily_return, total_trade_count")
    optimize.add_argument("--minimise", action="store_true",
                          help="lowest target is best (default: highest)")
    optimize.add_argument("--top", type=_positive_int, default=10, metavar="N",
                          help="rows of the table printed (default 10)")
    optimize.add_argument("--genetic", action="store_true",
                          help="genetic search instead of trying every combination")
    optimize.add_argument("--population", type=_positive_int, default=20, metavar="N",
                          help="genetic: settings per generation (default 20)")
    optimize.add_argument("--generations", type=_count, default=10, metavar="N",
                          help="genetic: generations after the first (default 10)")
    optimize.add_argument("--seed", type=int, metavar="N",
                          help="genetic: random seed (default: a new one, printed)")
    optimize.add_argument("--warmup-days", type=_count, default=DEFAULT_WARMUP_DAYS,
                          metavar="DAYS", help="days of bars before the start read once for "
                          "the strategy's load_bar warm-up (default 30)")
    where = optimize.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, metavar="N",
                       help=f"local worker processes (default: the CPUs, {os.cpu_count()})")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="a Dask scheduler to run on instead, e.g. tcp://host:8786")


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument("strategy", help="strategy class name, e.g. DoubleMaStrategy")
    command.add_argument("vt_symbol", metavar="SYMBOL.EXCHANGE", help="e.g. rb2401.SHFE")
    command.add_argument("--interval", default="1m",
                         help="bar interval the engine runs on: 1m (default), 1h or d")
    command.add_argument("--start", required=True, metavar="DATE",
                         help="first day, YYYY-MM-DD (or YYYY-MM-DD HH:MM)")
    command.add_argument("--end", required=True, metavar="DATE",
                         help="last day, YYYY-MM-DD, included to its end")
    command.add_argument("--capital", type=_positive_float,
                         help="starting capital (default 1,000,000)")
    command.add_argument("--rate", type=_non_negative_float,
                         help="commission as a fraction of traded value (default: the "
                         "contract table)")
    command.add_argument("--slippage", type=_non_negative_float,
                         help="price units lost per fill (default 0)")
    command.add_argument("--size", type=_positive_float,
                         help="contract multiplier (default: the contract table)")
    command.add_argument("--pricetick", type=_positive_float,
                         help="price tick (default: the contract table)")
    command.add_argument("--param", dest="params", action="append", default=[],
                         metavar="NAME=VALUE", help="a strategy parameter (repeat as needed)")


def _number(text: str, kind: type, test, meaning: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {meaning}") from None
    if not test(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not {meaning}")
    return value


def _positive_int(text: str) -> int:
    return _number(text, int, lambda v: v > 0, "a whole number above 0")


def _count(text: str) -> int:
    return _number(text, int, lambda v: v >= 0, "a whole number, 0 or more")


def _positive_float(text: str) -> float:
    return _number(text, float, lambda v: math.isfinite(v) and v > 0, "a number above 0")


def _non_negative_float(text: str) -> float:
    return _number(text, float, lambda v: math.isfinite(v) and v >= 0, "a number, 0 or more")


# ---------------------------------------------------------------------- entry point
def run(args: argparse.Namespace, paths: DataPaths) -> int:
    try:
        job = _prepare(args, paths)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if args.command == "backtest":
            return _backtest(job, paths)
        return _optimize(job, args, paths)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:         # the output went to a pager or `head` that stopped
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


@dataclass
class Job:
    """Everything checked and loaded: what both commands run."""

    entry: Any                      # the catalog's StrategyEntry
    settings: Any                   # BacktestSettings
    params: dict                    # the --param values, typed
    history: list                   # the bars of the period, as vn.py's load_data gives them
    load_bars: Any                  # the engine's bar_loader for the strategy's warm-up
    shared: Any                     # SharedBars (optimize; resampled bars), else None
    sources: dict[str, str]         # setting -> where its value came from
    bars_from: str                  # how the bars were had
    warmup: str                     # where the warm-up comes from
    store: Any = None               # the market store, open while the backtest reads it
    ranges: dict = field(default_factory=dict)
    space: Any = None               # optimize: the ParameterSpace of the ranges
    warmup_days: int | None = None  # optimize

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def _prepare(args: argparse.Namespace, paths: DataPaths) -> Job:
    """Check the input and load the bars; raises BadInput naming what is wrong."""
    from vnpy.trader.constant import Interval

    from terminal.backtest.engine import BacktestSettings

    start = _date(args.start, "--start")
    end = _date(args.end, "--end")
    if start > end.replace(hour=23, minute=59, second=59):
        raise BadInput(f"--start {args.start} is after --end {args.end}")
    symbol, exchange = _split(args.vt_symbol)
    interval = args.interval.strip()
    if interval not in INTERVALS:
        hint = ""
        if interval.endswith(("m", "h")) and interval[:-1].isdigit():
            hint = (f"; for {interval} bars run on 1m and let the strategy build them "
                    "(BarGenerator with a window), or store them with `data resample`")
        raise BadInput(f"--interval {interval!r}: vn.py's backtesting engine runs on "
                       f"{', '.join(INTERVALS)} bars{hint}")
    entry = _strategy(args.strategy, paths)
    params = {name: _typed(entry, name, text, f"--param {name}")
              for name, text in (_pair(p, "--param") for p in args.params)}
    ranges = {}
    for text in getattr(args, "ranges", []) or []:
        name, value = _pair(text, "--range")
        if name in ranges:
            raise BadInput(f"--range {name}: given twice")
        if name in params:
            raise BadInput(f"{name}: given both as --param and as --range")
        ranges[name] = _range_values(entry, name, value)
    space = None
    if getattr(args, "command", "") == "optimise":
        from terminal.backtest.optimisation.ranking import TARGETS
        from terminal.backtest.optimisation.space import ParameterError, ParameterSpace

        if not ranges:
            raise BadInput("optimize needs at least one --range NAME=START:STOP:STEP "
                           f"(parameters of {entry.name}: {_parameter_list(entry)})")
        if args.target not in TARGETS:
            raise BadInput(f"--target {args.target!r}: not one of {', '.join(TARGETS)}")
        try:
            space = ParameterSpace(ranges)
            space.check_parameters(entry.name, entry.parameters)
        except ParameterError as exc:
            raise BadInput(f"--range {exc}") from None

    settings = BacktestSettings(
        f"{symbol}.{exchange.value}", start, end, Interval(interval),
        capital=DEFAULT_CAPITAL if args.capital is None else args.capital,
        slippage=0.0 if args.slippage is None else args.slippage)
    warmup_days = getattr(args, "warmup_days", None)
    job = _load(paths, symbol, exchange, interval, settings, warmup_days)
    job.entry, job.params, job.ranges, job.space = entry, params, ranges, space
    try:
        if not job.history:
            raise BadInput(f"no {interval} bars of {settings.vt_symbol} from {_day(start)} "
                           f"to {_day(end)} in the store; {_holdings(paths, symbol, exchange)}")
        job.sources = _contract_settings(args, settings, symbol, exchange,
                                         job.history[0].close_price)
    except BaseException:
        job.close()
        raise
    return job


# ---------------------------------------------------------------------- input checks
def _date(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None
    if value.tzinfo is not None:
        raise BadInput(f"{option}: {text!r}: give China local time without a zone")
    return value


def _day(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}" if moment.time() == datetime.min.time() \
        else f"{moment:%Y-%m-%d %H:%M}"


def _split(vt_symbol: str):
    try:
        return split_vt_symbol(vt_symbol)
    except BadSymbol as exc:
        raise BadInput(str(exc)) from None


def _strategy(name: str, paths: DataPaths):
    """The strategy's entry, its class imported into this process: a user's plugin file only
    once its check (a child process, `plugin_check_seconds` at most) passed; only the files
    whose text defines a class of that name are checked (verdicts are kept in the data
    directory's cache, shared with the terminal)."""
    from terminal.core import settings as settings_file
    from terminal.plugins.loader import PluginError, StrategyCatalog, plugin_folders

    settings, _ = settings_file.load(paths.settings_file)
    catalog = StrategyCatalog(plugin_folders(settings.plugin_folder),
                              check_seconds=settings.plugin_check_seconds,
                              cache_file=paths.cache_dir / "plugin_checks.json")
    try:
        entry = catalog.get(name)
        catalog.load(name)           # imported once here: entry.cls is this class
        return entry
    except PluginError as exc:
        if not str(exc).startswith("no strategy class"):
            raise BadInput(str(exc)) from None
        catalog.refresh()            # every file checked, for the list of what there is
        text = f"unknown strategy {name!r}"
        text += f"; known strategies: {', '.join(catalog.names()) or 'none'}"
        broken = {path: error for path, error in catalog.errors.items()}
        if broken:
            text += "; files that are not loaded: " + "; ".join(
                f"{path}: {error}" for path, error in broken.items())
        raise BadInput(text) from None


def _parameter_list(entry) -> str:
    return ", ".join(f"{name} (default {value!r})" for name, value in entry.parameters.items()) \
        or "it has none"


def _pair(text: str, option: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise BadInput(f"{option} {text!r}: expected NAME=VALUE")
    return name.strip(), value.strip()


def _check_name(entry, name: str, option: str) -> None:
    if name not in entry.parameters:
        raise BadInput(f"{option}: {entry.name} has no parameter {name!r}; its parameters: "
                       f"{_parameter_list(entry)}")


def _typed(entry, name: str, text: str, option: str):
    """`text` as a value of the strategy's parameter `name`, by the type of its default."""
    _check_name(entry, name, option)
    default = entry.parameters[name]
    if isinstance(default, bool):
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise BadInput(f"{option}={text!r}: expected true or false (the default is {default!r})")
    if isinstance(default, int):
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and number.is_integer()):
            raise BadInput(f"{option}={text!r}: expected a whole number (the default is "
                           f"{default!r})")
        return int(number)
    if isinstance(default, float):
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise BadInput(f"{option}={text!r}: expected a number (the default is {default!r})")
        return number
    return text


def _range_values(entry, name: str, text: str):
    """A --range value: (start, stop, step) for START:STOP:STEP, else a list of values."""
    option = f"--range {name}"
    _check_name(entry, name, option)
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise BadInput(f"{option}={text!r}: expected START:STOP:STEP or V1,V2,...")
        default = entry.parameters[name]
        if isinstance(default, bool) or not isinstance(default, (int, float)):
            raise BadInput(f"{option}={text!r}: {name} is not a number (default "
                           f"{default!r}); give its values as a list V1,V2,...")
        start, stop, step = (_typed(entry, name, part, option) for part in parts)
        if not step > 0:
            raise BadInput(f"{option}={text!r}: the step must be above 0")
        if start > stop:
            raise BadInput(f"{option}={text!r}: start {start!r} is above stop {stop!r}")
        return (start, stop, step)
    values = [_typed(entry, name, part.strip(), option) for part in text.split(",")
              if part.strip()]
    if not values:
        raise BadInput(f"{option}: no values given")
    return values


# ---------------------------------------------------------------------- data
def _load(paths: DataPaths, symbol: str, exchange, interval: str, settings,
          warmup_days: int | None) -> Job:
    """The bars of the period and a loader for the warm-up: read from the store (backtest,
    `warmup_days` None; the store stays open for the warm-up), or read once from
    `warmup_days` before the start and shared (optimize); bars of an interval not stored are
    built from shorter stored ones."""
    from vnpy.trader.constant import Interval

    from terminal.backtest.engine import history_range, select_history
    from terminal.backtest.optimisation.evaluation import SharedBars, load_shared_bars
    from terminal.storage.market_store import MarketStore, StoreError

    store = MarketStore(paths.market_dir)
    keep_open = False
    job = Job(None, settings, {}, [], None, None, {}, "", "")
    try:
        stored = {info.interval: info for info in store.series()
                  if info.symbol == symbol and info.exchange == exchange}
        if interval in stored:
            job.bars_from = f"the stored {interval} bars"
            if warmup_days is None:
                job.history = select_history(store.load_bars(
                    symbol, exchange, Interval(interval), *history_range(settings)), settings)
                job.load_bars, job.store, keep_open = store.load_bars, store, True
                job.warmup = "the strategy's warm-up (load_bar) reads the store"
                return job
            job.shared = load_shared_bars(store, settings, warmup_days)
        else:
            source = _source_for(interval, stored)
            if source is None:
                raise BadInput(f"no {interval} bars of {settings.vt_symbol} in the store"
                               + (", nor shorter bars to build them from" if interval != "1m"
                                  else "") + f"; {_holdings(paths, symbol, exchange, store)}")
            job.shared = SharedBars(_resampled(store, symbol, exchange, source, interval,
                                               settings, warmup_days))
            job.bars_from = (f"built in memory from the stored {source} bars on {symbol}'s "
                             "trading sessions")
        job.history = job.shared.history(settings)
        job.load_bars = job.shared.load_bars
        job.warmup_days = warmup_days
        before = max(len(job.shared) - len(job.history), 0)
        if warmup_days is not None:
            job.warmup = (f"{before:,} bars before the start, from {warmup_days} days before, "
                          "serve the strategy's warm-up")
        else:       # a warm-up at another interval (load_bar's default is 1m) reads the store
            job.load_bars = _warmup_loader(job.shared, Interval(interval), store.load_bars)
            job.store, keep_open = store, True
            job.warmup = (f"the strategy's warm-up (load_bar) reads these bars ({before:,} "
                          f"before the start), or the store for other intervals")
        return job
    except StoreError as exc:
        raise BadInput(str(exc)) from None
    finally:
        if not keep_open:
            store.close()


def _warmup_loader(shared, interval, read):
    """A bar_loader serving `interval` from the built bars and other intervals from `read`."""
    def load(symbol, exchange, asked, start, end):
        if asked == interval:
            return shared.load_bars(symbol, exchange, asked, start, end)
        return read(symbol, exchange, asked, start, end)

    return load


def _source_for(interval: str, stored: dict) -> str | None:
    """The shortest stored intraday series whose length divides `interval` (1h or d)."""
    from terminal.market.resample import DAILY, ResampleError, minutes_of

    if interval == "1m":
        return None
    candidates = []
    for name in stored:
        try:
            length = minutes_of(name)
        except ResampleError:
            continue
        if interval == DAILY or minutes_of(interval) % length == 0:
            candidates.append((length, name))
    return min(candidates)[1] if candidates else None


def _resampled(store, symbol: str, exchange, source: str, interval: str, settings,
               warmup_days: int | None) -> list:
    """`interval` bars built from the whole stored `source` series (whole trading days),
    as BarData, kept from `warmup_days` before the start (from the first when None) to the
    end of the backtest."""
    from vnpy.trader.constant import Interval
    from vnpy.trader.object import BarData

    from terminal.backtest.engine import history_range
    from terminal.market.resample import ResampleError, resample
    from terminal.storage.market_store import BAR_FIELDS, from_ns, to_ns

    table = store.load_table(symbol, exchange, source)
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    try:
        built = resample(columns, source, interval, symbol, exchange, store.tz)
    except ResampleError as exc:
        raise BadInput(f"{interval} bars cannot be built from the stored {source} bars of "
                       f"{symbol}.{exchange.value}: {exc}") from None
    first, last = history_range(settings)
    keep = built["datetime"] <= to_ns(last, store.tz)
    if warmup_days is not None:
        keep &= built["datetime"] >= to_ns(first - timedelta(days=warmup_days), store.tz)
    times = from_ns(built["datetime"][keep], store.tz)
    values = {name: built[name][keep].tolist() for name in BAR_FIELDS}
    return [BarData("DB", symbol, exchange, moment, Interval(interval),
                    **{name: values[name][i] for name in BAR_FIELDS})
            for i, moment in enumerate(times)]


def _holdings(paths: DataPaths, symbol: str, exchange, store=None) -> str:
    """What the store holds for a symbol, for an error message."""
    from terminal.storage.market_store import MarketStore

    own = store is None
    store = store or MarketStore(paths.market_dir)
    try:
        series = [s for s in store.series() if s.symbol == symbol and s.exchange == exchange]
    finally:
        if own:
            store.close()
    if not series:
        return f"the store holds nothing of {symbol}.{exchange.value} (see `data list`)"
    return f"the store holds of {symbol}.{exchange.value}: " + "; ".join(
        f"{s.interval} {s.first:%Y-%m-%d %H:%M} to {s.last:%Y-%m-%d %H:%M} ({s.count:,})"
        for s in series)


def _contract_settings(args, settings, symbol: str, exchange, first_price: float
                       ) -> dict[str, str]:
    """Fill size, pricetick and rate from the options or the contract table; returns where
    each setting came from."""
    from terminal.market.contracts import spec_for

    try:
        spec = spec_for(symbol, exchange, first_price)
    except KeyError:
        spec = None
    table = f"contract table, {spec.product} ({spec.name})" if spec else ""
    sources = {name: "default" if getattr(args, name) is None else "given"
               for name in ("capital", "slippage")}
    missing = [name for name in ("size", "pricetick") if getattr(args, name) is None]
    if missing and spec is None:
        raise BadInput(f"{symbol}.{exchange.value}: no contract table entry for its product; "
                       f"give {' and '.join('--' + m for m in missing)} (and --rate)")
    for name in ("size", "pricetick"):
        given = getattr(args, name)
        setattr(settings, name, given if given is not None else getattr(spec, name))
        sources[name] = "given" if given is not None else table
    if args.rate is not None:
        settings.rate, sources["rate"] = args.rate, "given"
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


# ---------------------------------------------------------------------- backtest
def _backtest(job: Job, paths: DataPaths) -> int:
    try:
        return _run_backtest(job, paths)
    finally:
        job.close()


def _run_backtest(job: Job, paths: DataPaths) -> int:
    from terminal.backtest.engine import run
    from terminal.backtest.runs import FAILED, RUNNING, RunStore
    from terminal.backtest.stats import report

    _describe(job)
    params = {**job.entry.parameters, **job.params}
    with RunStore(paths.root / RUNS_FOLDER) as runs:
        run_id = runs.create(job.entry.name, job.settings.vt_symbol, job.settings.interval,
                             job.settings.start, job.settings.end, _record_settings(job),
                             params)
        runs.set_status(run_id, RUNNING)
        try:
            outcome = run(job.entry.cls, job.history, job.settings, job.params,
                          bar_loader=job.load_bars)
            failure = _failure(outcome.engine.messages)
            if failure is None:
                stats = report(outcome.engine, outcome.statistics)
        except KeyboardInterrupt:
            runs.set_status(run_id, FAILED, "interrupted")
            raise
        except Exception:
            import traceback

            failure = traceback.format_exc()
        if failure is not None:
            runs.set_status(run_id, FAILED, failure)
            print(f"backtest failed: {failure.rstrip()}", file=sys.stderr)
            print(f"run {run_id} saved as failed in {runs.root}")
            return EXIT_FAILED
        runs.save_result(run_id, stats, outcome.daily, outcome.engine.trades)
        print()
        print(statistics_table(stats))
        print(f"\nrun {run_id} saved in {runs.root} (done)")
    return 0


def _failure(messages: list[str]) -> str | None:
    """The traceback vn.py's engine logged when the strategy raised (it stops the replay)."""
    return next((m for m in messages if m.startswith("Traceback (most recent call last)")),
                None)


def _describe(job: Job) -> None:
    s = job.settings
    print(f"{job.entry.name} on {s.vt_symbol} {_plain(s.interval)}, {_day(s.start)} to "
          f"{_day(s.end)}: {len(job.history):,} bars ({job.bars_from}); {job.warmup}")
    given = {**job.entry.parameters, **job.params}
    fixed = [f"{k}={v!r}" + ("" if k in job.params else " (default)")
             for k, v in given.items() if k not in job.ranges]
    print(f"{'other parameters' if job.ranges else 'parameters'}: {', '.join(fixed) or 'none'}")
    rows = [("capital", f"{s.capital:,.2f}"), ("rate", f"{s.rate:.6g}"),
            ("slippage", f"{s.slippage:g}"), ("size", f"{s.size:g}"),
            ("pricetick", f"{s.pricetick:g}")]
    width = max(len(value) for _, value in rows)
    print("settings:")
    for name, value in rows:
        print(f"  {name:<10}{value:>{width}}  {job.sources[name]}")


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def _record_settings(job: Job, **extra: Any) -> dict:
    s = job.settings
    return {"rate": s.rate, "slippage": s.slippage, "size": s.size, "pricetick": s.pricetick,
            "capital": s.capital, "mode": _plain(s.mode), "risk_free": s.risk_free,
            "annual_days": s.annual_days, "half_life": s.half_life,
            "warmup": job.warmup, "bars": job.bars_from,
            "sources": dict(job.sources), "command": "cli", **extra}


def statistics_table(stats: dict) -> str:
    """The statistics as aligned lines: the label (stats.LABELS), then the value, right-aligned;
    statistics without a label follow under their keys."""
    from terminal.backtest.stats import LABELS, format_value

    keys = [key for key in LABELS if key in stats] + [key for key in stats if key not in LABELS]
    labels = [LABELS[key][0] if key in LABELS else key for key in keys]
    values = [format_value(key, stats[key]) for key in keys]
    left = max(map(len, labels), default=0)
    right = max(map(len, values), default=0)
    return "\n".join(f"{label:<{left}}  {value:>{right}}" for label, value in zip(labels, values))


# ---------------------------------------------------------------------- optimize
class ProgressLine:
    """progress(percent, text) on stderr: one line rewritten in place on a terminal, else a
    line at every tenth of the way."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = -1
        self.open = False

    def __call__(self, percent: float, text: str) -> None:
        line = f"optimising: {percent:5.1f}% ({text})"
        if self.tty:
            self.stream.write("\r" + line)
            self.open = True
        else:
            step = int(percent // 10)
            if step == self._shown:
                return
            self._shown = step
            self.stream.write(line + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.open:
            self.stream.write("\n")
            self.stream.flush()
            self.open = False


def _optimize(job: Job, args: argparse.Namespace, paths: DataPaths) -> int:
    import random

    from terminal.backtest.engine import run
    from terminal.backtest.optimisation.evaluation import BacktestEvaluator
    from terminal.backtest.optimisation.optimiser import Optimiser
    from terminal.backtest.optimisation.ranking import OptimisationError, target_value
    from terminal.backtest.runs import FAILED, RunStore
    from terminal.backtest.stats import report

    space = job.space
    _describe(job)
    workers = args.workers or os.cpu_count() or 1
    where = (f"on the Dask cluster at {args.scheduler}" if args.scheduler
             else f"{workers} local worker process{'es' if workers > 1 else ''}")
    values = ", ".join(f"{name} {list(space.values(name))}" for name in space.names)
    order = "lowest" if args.minimise else "highest"
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    if args.genetic:
        method = (f"genetic search (population {args.population}, {args.generations} "
                  f"generations, seed {seed})")
    else:
        method = "grid search"
    print(f"{method} over {space.size:,} combinations of {values}; target {args.target} "
          f"({order} is best); {where}")

    strategy = job.entry.cls
    if args.scheduler:        # workers import the class from its file (checking it first)
        strategy = job.entry.worker_loader()
    evaluate = BacktestEvaluator(strategy, job.settings, job.params)
    optimiser = Optimiser(workers=workers, scheduler_address=args.scheduler)
    progress = ProgressLine()
    try:
        if args.genetic:
            result = optimiser.genetic(evaluate, space, args.target, job.shared,
                                       population=args.population,
                                       generations=args.generations, seed=seed,
                                       maximise=not args.minimise, progress=progress)
        else:
            result = optimiser.grid(evaluate, space, args.target, job.shared,
                                    maximise=not args.minimise, progress=progress)
    except OptimisationError as exc:
        progress.end()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (OSError, TimeoutError) as exc:       # a scheduler that cannot be reached
        progress.end()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    progress.end()
    print(f"{len(result.rows):,} settings evaluated in {result.elapsed:.1f} s "
          f"({len(result.rows) / result.elapsed if result.elapsed else 0:,.1f} a second)")
    if result.errors:
        first = result.errors[0][2]["error"].strip().splitlines()[-1]
        print(f"{len(result.errors):,} settings failed; the first: {first}", file=sys.stderr)

    frame = result.frame(TABLE_STATISTICS)
    print(f"\ntop {min(args.top, len(result.rows))} of {len(result.rows):,} by {args.target}:")
    print(optimisation_table(result, space.names, args.target, args.top))

    search = {"method": "genetic" if args.genetic else "grid", "target": args.target,
              "maximise": not args.minimise,
              "space": {name: list(space.values(name)) for name in space.names},
              "fixed": dict(job.params), "evaluated": len(result.rows), "total": result.total,
              "failed": len(result.errors), "elapsed": result.elapsed,
              "warmup_days": job.warmup_days,
              "where": args.scheduler or f"local, {workers} workers",
              **({"population": args.population, "generations": args.generations,
                  "seed": seed} if args.genetic else {})}
    best = result.best
    with RunStore(paths.root / RUNS_FOLDER) as runs:
        params = {**job.entry.parameters, **job.params, **(best[0] if best else {})}
        run_id = runs.create(job.entry.name, job.settings.vt_symbol, job.settings.interval,
                             job.settings.start, job.settings.end,
                             _record_settings(job, optimisation=search), params)
        _write_table(runs.root / run_id, frame)
        if best is None:
            error = f"no setting gave a {args.target}"
            if result.errors:
                error += ": " + result.errors[0][2]["error"]
            runs.set_status(run_id, FAILED, error)
            print(f"\n{error.splitlines()[0]}", file=sys.stderr)
            print(f"run {run_id} saved as failed in {runs.root}, with the table as {TABLE_FILE}")
            return EXIT_FAILED
        best_params, best_value, _ = best
        print("\nbest: " + ", ".join(f"{k}={v!r}" for k, v in best_params.items())
              + f" ({args.target} {_format(args.target, best_value)})")
        outcome = run(job.entry.cls, job.history, job.settings, {**job.params, **best_params},
                      bar_loader=job.load_bars)
        failure = _failure(outcome.engine.messages)
        if failure is not None:
            runs.set_status(run_id, FAILED, failure)
            print(f"the best setting's backtest failed: {failure.rstrip()}", file=sys.stderr)
            return EXIT_FAILED
        stats = report(outcome.engine, outcome.statistics)
        again = target_value(stats, args.target)
        if not (again == best_value or (math.isnan(again) and math.isnan(best_value))):
            print(f"warning: the best setting backtested again gave {args.target} "
                  f"{again!r}, not {best_value!r}", file=sys.stderr)
        runs.save_result(run_id, stats, outcome.daily, outcome.engine.trades)
        print()
        print(statistics_table(stats))
        print(f"\nrun {run_id} saved in {runs.root} (done): the best setting's backtest, "
              f"with the table of all {len(result.rows):,} settings as {TABLE_FILE}")
    return 0


def _format(key: str, value: Any) -> str:
    from terminal.backtest.stats import format_value

    return format_value(key, value)


def optimisation_table(result, names: list[str], target: str, top: int) -> str:
    """The best `top` rows: rank, the parameters, the target, then a few of vn.py's statistics
    (labelled by their keys), aligned."""
    columns = [*names, target, *(s for s in TABLE_STATISTICS if s != target)]
    lines = [["rank", *columns]]
    for rank, (params, value, stats) in enumerate(result.rows[:top], 1):
        cells = [str(rank)] + [f"{params[name]!r}" for name in names]
        if "error" in stats:
            cells += ["error: " + stats["error"].strip().splitlines()[-1]]
        else:
            cells += [_format(target, value)] + [
                _format(key, stats.get(key)) for key in columns[len(names) + 1:]]
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines if i < len(line))
              for i in range(len(lines[0]))]
    return "\n".join("  ".join(cell.rjust(widths[i]) if i < len(widths) else cell
                               for i, cell in enumerate(line)) for line in lines)


def _write_table(folder, frame) -> None:
    """The optimisation's table as Parquet in the run's folder (written to a temporary name
    and renamed, as the run store writes its own files)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TABLE_FILE
    temporary = folder / f".{TABLE_FILE}.tmp"
    frame = frame.copy()
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].map(lambda v: v if v is None or isinstance(
                v, (str, int, float, bool)) else str(v))
    try:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), temporary,
                       compression="zstd")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
