"""Backtest benchmark: the terminal's backtests and optimiser against vnpy_ctastrategy used
directly, on the same bars, in the same run.

Hand-run from the project root (not a test):
    .venv/bin/python benchmarks/backtest.py                            # 1,000,000 bars (~10 min)
    .venv/bin/python benchmarks/backtest.py --bars 200000              # ~3 min
    .venv/bin/python benchmarks/backtest.py --bars 200000 --fast 5,10,15,20 --slow 30,60
    .venv/bin/python benchmarks/backtest.py --bars 50000 --only ours

The bars are synthetic and the same on every run: the seeded random walk of rb2701.SHFE
1-minute bars on rb's trading sessions that benchmarks/market_store.py makes (its
`make_bars`), stamped by their start in Asia/Shanghai time. The strategy is vnpy_ctastrategy's
bundled DoubleMaStrategy (its on_init asks for 10 days of warm-up: there are none before the
first bar on either side), on the whole period, rate 1e-4, slippage 1, size 10, pricetick 1.

Each side gets its own temporary data directory, prepared before vn.py is imported, and three
subprocesses, each reporting JSON to this one:
  prepare   the bars saved into the side's database (not timed): stock vn.py's vnpy_sqlite
            (`.vntrader/database.db`, vn.py's default database), or the terminal's market store;
  run       one backtest, timed as "load" (stock: `BacktestingEngine.load_data()`, reading
            vnpy_sqlite in its ten windows; ours: one `MarketStore.load_bars` over the same
            period and `select_history`) and "run" (replay, daily results and statistics:
            stock `run_backtesting`, `calculate_result`, `calculate_statistics`; ours
            `terminal.backtest.engine.run`, the same vn.py engine, its warm-up read from the
            store);
  optimize  a grid of --fast x --slow windows towards sharpe_ratio on 2 processes (--workers),
            from the data in the database to the sorted results: stock
            `BacktestingEngine.run_bf_optimization(max_workers=2)` (a spawn process pool in
            which each worker reads the bars from vnpy_sqlite itself, once, thanks to its
            lru_cache); ours `load_shared_bars` (one read of the store) then
            `Optimiser(workers=2).grid` with `BacktestEvaluator` (forked workers that inherit
            the bars).
Memory: a thread in the optimize process polls itself and every process below it with psutil
(`memory_full_info`, every --poll seconds) and keeps each process's peak RSS, PSS (shared
pages divided between the processes sharing them) and USS (pages of its own); the workers are
the children other than multiprocessing's resource tracker. `ru_maxrss` of the children
(getrusage, the kernel's own peak of the largest waited-for child) is reported beside it. A
forked worker's RSS counts the pages it still shares with its parent; its PSS and USS do not.
Identity: both sides' statistics of the one backtest, and every setting's sharpe_ratio in the
optimisation, are compared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from harness import ROOT, child_command, child_main, met, run_child, scratch, synthetic_bars

TARGETS = ("ours", "vnpy")
NAMES = {"ours": "terminal", "vnpy": "stock vn.py"}
PHASES = ("prepare", "run", "optimize")
SYMBOL, EXCHANGE = "rb2701", "SHFE"
VT_SYMBOL = f"{SYMBOL}.{EXCHANGE}"
SETTINGS = {"rate": 1e-4, "slippage": 1.0, "size": 10.0, "pricetick": 1.0, "capital": 1_000_000}
TARGET = "sharpe_ratio"
COMPARED = ("total_days", "end_balance", "total_net_pnl", "total_commission", "total_slippage",
            "total_turnover", "total_trade_count", "max_drawdown", "sharpe_ratio")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--fast", default="5,10", help="fast_window values (default 5,10)")
    parser.add_argument("--slow", default="20,40", help="slow_window values (default 20,40)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--poll", type=float, default=0.1, help="memory polling, seconds")
    parser.add_argument("--only", choices=TARGETS, help="run one side only")
    parser.add_argument("--child", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def grid_values(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


# ---------------------------------------------------------------------------------- child side
def period(home: Path) -> tuple[datetime, datetime]:
    """The whole period of the bars, as naive China dates (vn.py's convention)."""
    first, last = json.loads((home / "period.json").read_text())
    return datetime.fromisoformat(first), datetime.fromisoformat(last)


def plain(value):
    if hasattr(value, "item"):
        value = value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class MemorySampler(threading.Thread):
    """Peak RSS, PSS and USS of this process and of every process below it."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True, name="memory-sampler")
        import psutil

        self.psutil = psutil
        self.interval = interval
        self.me = psutil.Process()
        self.peaks: dict[int, dict] = {}
        self.peak_total_pss = 0
        self.samples = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.interval)

    def sample(self) -> None:
        psutil = self.psutil
        total = 0
        try:
            processes = [self.me, *self.me.children(recursive=True)]
        except psutil.Error:
            return
        for process in processes:
            try:
                info = process.memory_full_info()
                peak = self.peaks.get(process.pid)
                if peak is None:
                    command = " ".join(process.cmdline())
                    peak = self.peaks[process.pid] = {
                        "self": process.pid == self.me.pid, "rss": 0, "pss": 0, "uss": 0,
                        "tracker": "resource_tracker" in command}
            except psutil.Error:
                continue
            for key in ("rss", "pss", "uss"):
                peak[key] = max(peak[key], getattr(info, key))
            total += info.pss
        self.peak_total_pss = max(self.peak_total_pss, total)
        self.samples += 1

    def stop(self) -> dict:
        self._done.set()
        self.join()
        workers = [p for p in self.peaks.values() if not p["self"] and not p["tracker"]]
        parent = next(p for p in self.peaks.values() if p["self"])
        return {"workers": workers, "parent": parent, "total_pss": self.peak_total_pss,
                "samples": self.samples}


def prepare(home: Path, args: argparse.Namespace) -> dict:
    bars = synthetic_bars(args.bars)
    first = bars[0].datetime.replace(tzinfo=None)
    last = bars[-1].datetime.replace(tzinfo=None)
    (home / "period.json").write_text(json.dumps([
        first.replace(hour=0, minute=0).isoformat(), last.replace(hour=0, minute=0).isoformat()]))
    started = time.perf_counter()
    if args.child == "ours":
        from terminal.storage.market_store import MarketStore

        store = MarketStore(home / "market")
        store.save_bars(bars)
        store.close()
    else:
        from vnpy_sqlite.sqlite_database import SqliteDatabase

        database = SqliteDatabase()
        database.save_bar_data(bars)
        database.db.close()
    return {"bars": len(bars), "first": first.isoformat(), "last": last.isoformat(),
            "save_seconds": time.perf_counter() - started}


def run_vnpy(home: Path, args: argparse.Namespace) -> dict:
    from vnpy.trader.constant import Interval
    from vnpy_ctastrategy.backtesting import BacktestingEngine
    from vnpy_ctastrategy.strategies.double_ma_strategy import DoubleMaStrategy

    start, end = period(home)
    engine = BacktestingEngine()
    engine.set_parameters(vt_symbol=VT_SYMBOL, interval=Interval.MINUTE, start=start, end=end,
                          **SETTINGS)
    engine.add_strategy(DoubleMaStrategy, {})
    t0 = time.perf_counter()
    engine.load_data()
    t1 = time.perf_counter()
    engine.run_backtesting()
    engine.calculate_result()
    statistics = engine.calculate_statistics(output=False)
    t2 = time.perf_counter()
    return {"load": t1 - t0, "run": t2 - t1, "history": len(engine.history_data),
            "statistics": {k: plain(statistics.get(k)) for k in COMPARED},
            "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def run_ours(home: Path, args: argparse.Namespace) -> dict:
    from vnpy.trader.constant import Exchange, Interval
    from vnpy_ctastrategy.strategies.double_ma_strategy import DoubleMaStrategy

    from terminal.backtest.engine import BacktestSettings, history_range, run, select_history
    from terminal.storage.market_store import MarketStore

    start, end = period(home)
    settings = BacktestSettings(VT_SYMBOL, start, end, Interval.MINUTE, **SETTINGS)
    t0 = time.perf_counter()
    store = MarketStore(home / "market")
    history = select_history(store.load_bars(SYMBOL, Exchange(EXCHANGE), Interval.MINUTE,
                                             *history_range(settings)), settings)
    t1 = time.perf_counter()
    outcome = run(DoubleMaStrategy, history, settings, {}, bar_loader=store.load_bars)
    t2 = time.perf_counter()
    store.close()
    return {"load": t1 - t0, "run": t2 - t1, "history": len(history),
            "statistics": {k: plain(outcome.statistics.get(k)) for k in COMPARED},
            "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def optimize_vnpy(home: Path, args: argparse.Namespace, sampler: MemorySampler) -> dict:
    from vnpy.trader.constant import Interval
    from vnpy.trader.optimize import OptimizationSetting
    from vnpy_ctastrategy.backtesting import BacktestingEngine
    from vnpy_ctastrategy.strategies.double_ma_strategy import DoubleMaStrategy

    start, end = period(home)
    engine = BacktestingEngine()
    engine.set_parameters(vt_symbol=VT_SYMBOL, interval=Interval.MINUTE, start=start, end=end,
                          **SETTINGS)
    engine.add_strategy(DoubleMaStrategy, {})
    setting = OptimizationSetting()
    setting.set_target(TARGET)
    for name, values in (("fast_window", grid_values(args.fast)),
                         ("slow_window", grid_values(args.slow))):
        step = values[1] - values[0] if len(values) > 1 else 1
        if values != list(range(values[0], values[-1] + 1, step)):
            raise SystemExit(f"{name}: vn.py's OptimizationSetting takes evenly spaced values")
        setting.add_parameter(name, values[0], values[-1], step)
    sampler.start()
    t0 = time.perf_counter()
    results = engine.run_bf_optimization(setting, output=False, max_workers=args.workers)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "settings": len(results),
            "targets": {_key(params): plain(value) for params, value, _ in results}}


def optimize_ours(home: Path, args: argparse.Namespace, sampler: MemorySampler) -> dict:
    from vnpy.trader.constant import Interval
    from vnpy_ctastrategy.strategies.double_ma_strategy import DoubleMaStrategy

    from terminal.backtest.engine import BacktestSettings
    from terminal.backtest.optimisation.evaluation import BacktestEvaluator, load_shared_bars
    from terminal.backtest.optimisation.optimiser import Optimiser
    from terminal.backtest.optimisation.space import ParameterSpace
    from terminal.storage.market_store import MarketStore

    start, end = period(home)
    settings = BacktestSettings(VT_SYMBOL, start, end, Interval.MINUTE, **SETTINGS)
    space = ParameterSpace({"fast_window": grid_values(args.fast),
                            "slow_window": grid_values(args.slow)})
    sampler.start()
    t0 = time.perf_counter()
    store = MarketStore(home / "market")
    shared = load_shared_bars(store, settings, warmup_days=10)
    store.close()
    loaded = time.perf_counter() - t0
    result = Optimiser(workers=args.workers).grid(
        BacktestEvaluator(DoubleMaStrategy, settings), space, TARGET, shared)
    seconds = time.perf_counter() - t0
    errors = [row[2]["error"] for row in result.rows if "error" in row[2]]
    return {"seconds": seconds, "load": loaded, "settings": len(result.rows),
            "errors": errors[:1], "targets": {_key(p): plain(v) for p, v, _ in result.rows}}


def _key(params: dict) -> str:
    return ", ".join(f"{k}={params[k]}" for k in sorted(params))


def child(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(ROOT))
    from terminal.core import paths

    home = Path(args.home)
    paths.prepare(home)      # before vn.py is imported: its folder and database.db go here
    if args.phase == "prepare":
        result = prepare(home, args)
    elif args.phase == "run":
        result = (run_ours if args.child == "ours" else run_vnpy)(home, args)
    else:
        sampler = MemorySampler(args.poll)
        optimize = optimize_ours if args.child == "ours" else optimize_vnpy
        result = optimize(home, args, sampler)
        result["memory"] = sampler.stop()
        result["children_maxrss"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return result


# ---------------------------------------------------------------------------------- parent side
def run_phase(target: str, phase: str, home: Path, args: argparse.Namespace) -> dict:
    print(f"{NAMES[target]}: {phase} ({args.bars:,} bars) ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = run_child(child_command(
        __file__, "--child", target, "--phase", phase, ("--home", home), ("--bars", args.bars),
        ("--fast", args.fast), ("--slow", args.slow), ("--workers", args.workers),
        ("--poll", args.poll)), timeout=3600)
    if result.get("error"):
        return {"error": f"{phase}: {result['error']}"}
    result["wall"] = time.perf_counter() - started
    result["loadavg"] = os.getloadavg()[0]     # the machine's, over the last minute
    return result


def run_target(target: str, args: argparse.Namespace) -> dict:
    results: dict = {}
    with scratch(f"bench-backtest-{target}-") as (home, _):
        for phase in PHASES:
            results[phase] = run_phase(target, phase, home, args)
            if results[phase].get("error"):
                results["error"] = results[phase]["error"]
                break
    return results


def mb(value: float | None) -> str:
    return "" if value is None else f"{value / 2**20:,.0f} MB"


def show(results: dict[str, dict], args: argparse.Namespace) -> None:
    ok = {t: r for t, r in results.items() if not r.get("error")}
    both = len(ok) == 2
    combos = len(grid_values(args.fast)) * len(grid_values(args.slow))
    some = next(iter(ok.values()), None)
    print(f"\n{args.bars:,} synthetic 1-minute bars of {VT_SYMBOL}"
          + (f" ({some['prepare']['first'][:10]} to {some['prepare']['last'][:10]})"
             if some else "")
          + f"; DoubleMaStrategy; {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"optimisation: fast_window {args.fast} x slow_window {args.slow} = {combos} "
          f"settings towards {TARGET}, {args.workers} worker processes")
    names = [t for t in TARGETS if t in ok]
    if not names:
        for target, result in results.items():
            print(f"{NAMES[target]}: {result['error']}")
        return
    header = f"| {'':44} |" + "".join(f" {NAMES[t]:>13} |" for t in names)
    if both:
        header += "  stock / terminal |"
    print("\n" + header)
    print("|" + "---|" * (len(names) + 1 + both))

    def row(label: str, values: dict, kind: str, better: str | None = None) -> None:
        cells = ""
        for t in names:
            v = values.get(t)
            if v is None:
                cells += f" {'':>13} |"
            elif kind == "s":
                cells += f" {v:>11,.2f} s |"
            elif kind == "rate":
                cells += f" {v:>13,.3f} |"
            else:
                cells += f" {mb(v):>13} |"
        if both and None not in (values.get("ours"), values.get("vnpy")) and better:
            ratio = (values["vnpy"] / values["ours"] if better == "lower"
                     else values["ours"] / values["vnpy"])
            cells += f" {ratio:>16,.2f}x |"
        elif both:
            cells += f" {'':>17} |"
        print(f"| {label:44} |{cells}")

    def get(path: list[str]) -> dict:
        out = {}
        for t in names:
            value = ok[t]
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            out[t] = value
        return out

    run = {t: ok[t]["run"] for t in names}
    row("one backtest: load data", {t: run[t]["load"] for t in names}, "s", "lower")
    row("one backtest: replay + statistics", {t: run[t]["run"] for t in names}, "s", "lower")
    row("one backtest: load + run", {t: run[t]["load"] + run[t]["run"] for t in names}, "s",
        "lower")
    row("one backtest: peak RSS of the process", get(["run", "maxrss"]), "mb", "lower")
    opt = {t: ok[t]["optimize"] for t in names}
    row(f"optimisation: {combos} settings, wall time", {t: opt[t]["seconds"] for t in names},
        "s", "lower")
    row("optimisation: settings per second",
        {t: opt[t]["settings"] / opt[t]["seconds"] for t in names}, "rate", "higher")
    for key, label in (("rss", "RSS"), ("pss", "PSS"), ("uss", "USS")):
        row(f"optimisation: peak {label} per worker (largest)",
            {t: max((w[key] for w in opt[t]["memory"]["workers"]), default=None)
             for t in names}, "mb", "lower")
    row("optimisation: peak ru_maxrss of the workers", get(["optimize", "children_maxrss"]),
        "mb", "lower")
    row("optimisation: peak RSS of the parent", {t: opt[t]["memory"]["parent"]["rss"]
                                                 for t in names}, "mb", "lower")
    row("optimisation: peak PSS, parent + workers", {t: opt[t]["memory"]["total_pss"]
                                                     for t in names}, "mb", "lower")
    print("(stock / terminal: how many times better the terminal is)")
    for t in names:
        memory = opt[t]["memory"]
        print(f"{NAMES[t]}: {len(memory['workers'])} worker processes seen, "
              f"{memory['samples']} memory samples; bars loaded for the backtest "
              f"{run[t]['history']:,}; saving the bars (not timed) took "
              f"{ok[t]['prepare']['save_seconds']:.1f} s")
        if opt[t].get("load") is not None:
            print(f"  terminal: the optimisation's one read of the store took "
                  f"{opt[t]['load']:.2f} s of its {opt[t]['seconds']:.1f} s")
        if opt[t].get("errors"):
            print(f"  evaluations failed: {opt[t]['errors'][0][-400:]}")
    print("load average over the last minute at the end of each phase (the benchmark itself "
          "gives about 1 for one backtest, 2 for the optimisation; more is something else "
          "running): " + "; ".join(
              f"{NAMES[t]} " + ", ".join(f"{phase} {ok[t][phase]['loadavg']:.1f}"
                                         for phase in ("run", "optimize")) for t in names))
    if both:
        same_stats = run["ours"]["statistics"] == run["vnpy"]["statistics"]
        print(f"identity: one backtest's statistics ({', '.join(COMPARED)}) "
              f"{'identical' if same_stats else 'DIFFER'}")
        if not same_stats:
            for key in COMPARED:
                a, b = run["ours"]["statistics"][key], run["vnpy"]["statistics"][key]
                if a != b:
                    print(f"  {key}: terminal {a!r}, stock {b!r}")
        same = opt["ours"]["targets"] == opt["vnpy"]["targets"]
        print(f"identity: {TARGET} of every setting {'identical' if same else 'DIFFER'}"
              f" ({len(opt['ours']['targets'])} / {len(opt['vnpy']['targets'])} settings)")
        one = (run["vnpy"]["load"] + run["vnpy"]["run"]) / (run["ours"]["load"]
                                                            + run["ours"]["run"])
        rate = (opt["ours"]["settings"] / opt["ours"]["seconds"]) / (
            opt["vnpy"]["settings"] / opt["vnpy"]["seconds"])
        print("targets:")
        print(f"  one run no slower than stock: {met(one >= 1)} "
              f"({one:.2f}x)")
        print(f"  optimisation at least 1.8x stock throughput on {args.workers} processes: "
              f"{met(rate >= 1.8)} ({rate:.2f}x)")
        for key in ("pss", "uss", "rss"):
            ours = max(w[key] for w in opt["ours"]["memory"]["workers"])
            stock = max(w[key] for w in opt["vnpy"]["memory"]["workers"])
            print(f"  less memory per worker, by peak {key.upper()}: "
                  f"{met(ours < stock)} ({mb(ours)} against {mb(stock)})")
    for target, result in results.items():
        if result.get("error"):
            print(f"{NAMES[target]}: {result['error']}")


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        child_main(lambda: child(args))
    targets = [args.only] if args.only else list(TARGETS)
    show({t: run_target(t, args) for t in targets}, args)


if __name__ == "__main__":
    main()
