"""`trading-terminal performance`: live performance of a range of trading days, from the journal
and the stored 1-minute bars (terminal.services.performance), as plain text tables.

Exit codes: 0; 1 when a contract was left out (its size is not known: give --size); 2 for bad
input (a date, no journal)."""

from __future__ import annotations

import argparse
import math
import sys

from terminal.cli import common
from terminal.core.paths import DataPaths

BY = ("day", "symbol", "strategy", "hour")


def add_parser(subparsers) -> None:
    command = subparsers.add_parser(
        "performance", help="live performance from the journal: round trips, statistics, "
        "breakdowns by day, symbol, strategy or hour, excursions")
    command.add_argument("--from", dest="start", metavar="DATE",
                         help="first trading day, YYYY-MM-DD (default: today's)")
    command.add_argument("--to", dest="end", metavar="DATE",
                         help="last trading day, YYYY-MM-DD, included (default: today's)")
    command.add_argument("--by", action="append", choices=BY, default=[],
                         help="a breakdown: day, symbol, strategy or hour of entry (China "
                         "time); repeat for several")
    command.add_argument("--trips", action="store_true",
                         help="list every round trip with its excursions (MAE/MFE)")
    command.add_argument("--size", dest="sizes", action="append", default=[],
                         metavar="SYMBOL.EXCHANGE=N",
                         help="the multiplier of a contract the contract table does not know "
                         "(repeat as needed)")
    command.set_defaults(run=run)


def run(args: argparse.Namespace, paths: DataPaths) -> int:
    return common.guarded(lambda: _performance(args, paths))


def _day(text: str | None, option: str):
    from terminal.core.trading_day import current_trading_day

    if text is None:
        return current_trading_day()
    return common.date_option(text, option).date()


def _sizes(texts: list[str]) -> dict[str, float]:
    from terminal.services.errors import BadInput

    sizes = {}
    for text in texts:
        symbol, _, value = text.partition("=")
        try:
            size = float(value)
        except ValueError:
            size = math.nan
        if not symbol.strip() or not (math.isfinite(size) and size > 0):
            raise BadInput(f"--size {text!r}: give SYMBOL.EXCHANGE=N with N above 0")
        sizes[symbol.strip()] = size
    return sizes


def _performance(args: argparse.Namespace, paths: DataPaths) -> int:
    from terminal.services.performance import journal_path, live_performance
    from terminal.storage.market_store import MarketStore

    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    sizes = _sizes(args.sizes)
    store = MarketStore(paths.market_dir)
    try:
        perf = live_performance(journal_path(paths), store, start, end, sizes=sizes)
    finally:
        store.close()
    print(f"Live performance, trading days {start} to {end}: {len(perf.trips)} round trips "
          f"({perf.fills} fills journalled up to {end})")
    for note in perf.notes:
        print(f"note: {note}")
    print()
    print(summary_table(perf))
    for by in dict.fromkeys(args.by):
        print(f"\nBy {'hour of entry (China time)' if by == 'hour' else by}")
        print(breakdown_table(perf.breakdowns[by], by))
    if args.trips:
        print("\nRound trips (excursions from 1-minute bars, entry and exit minutes included)")
        print(trips_table(perf.trips))
    if perf.refused:
        print("\n" + "; ".join(f"{s} left out: give --size {s}=N" for s in perf.refused),
              file=sys.stderr)
        return common.EXIT_FAILED
    return 0


def summary_table(perf) -> str:
    from terminal.backtest.live_performance import SUMMARY_LABELS, format_summary

    width = max(len(label) for label, _ in SUMMARY_LABELS.values())
    return "\n".join(f"{label:<{width}}  {format_summary(key, perf.summary[key]):>16}"
                     for key, (label, _) in SUMMARY_LABELS.items())


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _ratio(value: float) -> str:
    return "n/a" if isinstance(value, float) and math.isnan(value) else f"{value:,.3f}"


def breakdown_table(rows, by: str) -> str:
    head = (f"{by:<16}{'trips':>7}{'win rate':>10}{'net P&L':>15}{'fees':>12}"
            f"{'per trip':>13}{'P/L ratio':>11}{'expectancy':>12}")
    lines = [head, *(f"{r.key:<16}{r.trips:>7}{r.win_rate * 100:>9.1f}%"
                     f"{_money(r.net_pnl):>15}{_money(r.fees):>12}{_money(r.average):>13}"
                     f"{_ratio(r.profit_loss_ratio):>11}{_ratio(r.expectancy):>12}"
                     for r in rows)]
    return "\n".join(lines)


def excursion_text(trip) -> tuple[str, str]:
    """MAE and MFE as 'money (ticks)', or 'no bars'."""
    found = trip.excursion
    if found is None:
        return "no bars", "no bars"
    return tuple(f"{_money(money)} ({'?' if math.isnan(ticks) else f'{ticks:g}'}t)"
                 for money, ticks in ((found.adverse, found.adverse_ticks),
                                      (found.favourable, found.favourable_ticks)))


def trips_table(trips) -> str:
    lines = [(f"{'exit day':<11}{'symbol':<14}{'strategy':<14}{'side':<6}{'lots':>5}  "
              f"{'entry':<20}{'price':>10}  {'exit':<20}{'price':>10}{'net P&L':>13}"
              f"{'MAE':>20}{'MFE':>20}")]
    for t in trips:
        mae, mfe = excursion_text(t)
        lines.append(f"{t.day.isoformat():<11}{t.vt_symbol:<14}{t.strategy:<14}"
                     f"{t.direction:<6}{t.volume:>5g}  {t.entry_time:%Y-%m-%d %H:%M:%S} "
                     f"{t.entry_price:>10g}  {t.exit_time:%Y-%m-%d %H:%M:%S} "
                     f"{t.exit_price:>10g}{_money(t.net_pnl):>13}{mae:>20}{mfe:>20}")
    return "\n".join(lines)
