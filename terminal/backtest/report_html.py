"""A run as one self-contained HTML file: no script, no style sheet or image fetched, no
network; inline CSS and SVG (report_svg), every name from the run escaped.

The report is a list of sections, each a function returning HTML, so a walk-forward report
can reuse them with its windows table added:

    header_section(record)                what was run: strategy, symbol, interval, period,
                                          parameters, costs, warm-up
    statistics_section(stats)             stats.LABELS / format_value, as the workbench
    equity_section(daily, capital)        balance and drawdown (money) as SVG
    monthly_section(daily, capital)       monthly returns, rows years, columns months + year
    round_trips_section(trades, settings) the closed round trips with their net P&L
    fills_section(trades)                 the fills as stored
    monte_carlo_section(...)              percentiles, loss chance and fan chart
    walkforward_section(record, windows)  a walk-forward's verdict, criteria and windows
    document(title, sections)             the page around them

Monthly return (`monthly_returns`): with E the equity by trading day (capital + the sum of
the daily net P&L, vn.py's balance) and B the balance at the start of the month (E at the
last trading day before the month; the capital for the run's first month), the month's
return is E(last trading day of the month) / B - 1: its net P&L as a share of its starting
balance. The year's is E(last trading day of the year) / E(before the year) - 1, which is the
months compounded. A month without trading days is blank. Days are the run's trading days
(vn.py's daily results, keyed by each bar's calendar date: a night session's bars before
midnight count for that evening's date, those after midnight for the next).

Nothing in the file depends on when it was made: the same run (and Monte Carlo seed) gives
the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from typing import Any

import numpy as np
import pandas as pd
from vnpy.trader.constant import Direction

from terminal.backtest import run_series
from terminal.backtest.pool_jobs import RUN_NOTES
from terminal.backtest.report_svg import Band, Line, chart
from terminal.backtest.runs import RunRecord
from terminal.backtest.stats import EXTRA_LABELS, LABELS, VNPY_LABELS, format_value

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
BALANCE, DRAWDOWN, MEDIAN, ACTUAL = "#d9822b", "#30a46c", "#2f6fb3", "#d9822b"
FAN_OUTER, FAN_INNER = "#2f6fb3", "#2f6fb3"
CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;color:#222;
max-width:1000px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid
#ccc;padding-bottom:3px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{padding:3px 8px;border-bottom:1px solid #e4e4e4;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.section td{font-weight:bold;background:#f3f3f3}
td.up{color:#c62828}td.down{color:#2e7d32}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;font-size:13px}
dt{color:#666}dd{margin:0}
svg{font-size:11px;display:block;margin:8px 0}svg text{fill:#444}
svg .title{font-size:13px;font-weight:bold;fill:#222}
svg .grid{stroke:#e6e6e6}svg .frame{fill:none;stroke:#bbb}
p.note{font-size:12px;color:#555}
.pass{color:#2e7d32;font-weight:bold}.fail{color:#c62828;font-weight:bold}
"""


# ---------------------------------------------------------------------- pieces
def table(headers: Sequence[str], rows: Iterable[Sequence[Any]],
          numeric: Sequence[bool] = (), classes: Sequence[Sequence[str]] | None = None,
          row_classes: Sequence[str] | None = None) -> str:
    """An HTML table of text cells (escaped); `numeric` columns align right, `classes` per
    cell and `row_classes` per row (CSS classes of the page)."""
    numeric = list(numeric) + [False] * (len(headers) - len(numeric))
    head = "".join(f'<th{" class=n" if n else ""}>{escape(h)}</th>'
                   for h, n in zip(headers, numeric, strict=True))
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, value in enumerate(row):
            kind = ["n"] if numeric[c] else []
            if classes is not None and classes[r][c]:
                kind.append(classes[r][c])
            attr = f' class="{" ".join(kind)}"' if kind else ""
            cells.append(f"<td{attr}>{escape(str(value))}</td>")
        row_attr = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        body.append(f"<tr{row_attr}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_day = run_series.day_text


def _section(title: str, body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{body}</section>"


# ---------------------------------------------------------------------- sections
def header_section(record: RunRecord) -> str:
    s = record.settings
    params = ", ".join(f"{k}={v}" for k, v in record.params.items()) or "default parameters"
    costs = (f"capital {s.get('capital', 0):,.2f}; commission rate {s.get('rate', 0):g} of "
             f"traded value; slippage {s.get('slippage', 0):g} price units per fill; size "
             f"{s.get('size', 0):g}; price tick {s.get('pricetick', 0):g}")
    items = [("Strategy", record.strategy), ("Symbol", record.vt_symbol),
             ("Interval", record.interval),
             ("Period", f"{_day(record.start)} to {_day(record.end)}"),
             ("Parameters", params), ("Costs", costs),
             # what the strategy's load_bar calls actually got, kept with the statistics
             # (pool_jobs.run_notes); a run kept before that has only the read's description
             ("Bars", record.stats.get("bars") or s.get("bars") or "not recorded"),
             ("Warm-up", record.stats.get("warmup") or s.get("warmup")
              or "not recorded with this run"),
             ("Run", f"{record.run_id} ({record.status})")]
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in items)
    return (f"<header><h1>{escape(record.strategy)} on {escape(record.vt_symbol)}</h1>"
            f"<dl>{rows}</dl></header>")


def statistics_section(stats: dict) -> str:
    stats = {key: value for key, value in stats.items() if key not in RUN_NOTES}
    rows, kinds = [], []
    others = [key for key in stats if key not in LABELS]
    for title, labels in (("vn.py", VNPY_LABELS), ("LEAN and more", EXTRA_LABELS),
                          ("Other", dict.fromkeys(others, (None, "")))):
        present = [key for key in labels if key in stats]
        if present:
            rows.append((title, ""))
            rows += [(labels[key][0] or key, format_value(key, stats[key])) for key in present]
            kinds += ["section"] + [""] * len(present)
    if not rows:
        return _section("Statistics", "<p>No statistics: the run has none.</p>")
    return _section("Statistics", table(["Statistic", "Value"], rows, [False, True],
                                        row_classes=kinds))


def equity_section(daily: pd.DataFrame, capital: float) -> str:
    days = [_day(d) for d in daily.index] if daily is not None else []
    equity = run_series.equity(daily, capital)[1:]
    drawdown = equity - np.maximum.accumulate(np.concatenate(([capital], equity)))[1:]
    return _section("Equity and drawdown", chart(
        "Balance", days, [Line(equity, BALANCE, "balance")])
        + chart("Drawdown from the running peak", days,
                [Line(drawdown, DRAWDOWN, "drawdown", fill_to_zero=True)], height=220))


def monthly_returns(daily: pd.DataFrame, capital: float) -> pd.DataFrame:
    """Rows years, columns 1..12 and "year": returns as fractions (see the module's
    definition), NaN for a month without trading days."""
    columns = [*range(1, 13), "year"]
    if daily is None or daily.empty:
        return pd.DataFrame(columns=columns, dtype=float)
    equity = run_series.equity(daily, capital)
    days = pd.to_datetime(pd.Index([_day(d) for d in daily.index]))
    out: dict[int, dict] = {}
    before_month = before_year = equity[0]
    for i, day in enumerate(days):
        last_of_month = i + 1 == len(days) or (days[i + 1].year, days[i + 1].month) != (
            day.year, day.month)
        if last_of_month:
            row = out.setdefault(day.year, dict.fromkeys(columns, math.nan))
            row[day.month] = equity[i + 1] / before_month - 1.0
            before_month = equity[i + 1]
        if i + 1 == len(days) or days[i + 1].year != day.year:
            out[day.year]["year"] = equity[i + 1] / before_year - 1.0
            before_year = equity[i + 1]
    frame = pd.DataFrame.from_dict(out, orient="index", columns=columns)
    frame.index.name = "year"
    return frame


def _percent(value: float) -> str:
    return "" if not math.isfinite(value) else f"{value * 100:,.2f}%"


def _sign_class(value: float) -> str:
    if not math.isfinite(value) or value == 0:
        return ""
    return "up" if value > 0 else "down"


def monthly_section(daily: pd.DataFrame, capital: float) -> str:
    frame = monthly_returns(daily, capital)
    if frame.empty:
        return _section("Monthly returns", "<p>No trading days.</p>")
    rows, classes = [], []
    for year, values in frame.iterrows():
        cells = [float(v) for v in values.tolist()]
        rows.append([str(year), *(_percent(v) for v in cells)])
        classes.append(["", *(_sign_class(v) for v in cells)])
    note = ("<p class=note>A month's return is its net P&amp;L as a share of the balance at "
            "its start (the capital for the first month); the year's is the months "
            "compounded. Blank: no trading days.</p>")
    return _section("Monthly returns", table(["Year", *MONTHS, "Year"], rows,
                                             [False] + [True] * 13, classes) + note)


def round_trips_section(trades: pd.DataFrame, settings: dict) -> str:
    trips = run_series.stored_round_trips(trades, settings)
    rows = [(i + 1, t.direction, _time(t.entry_time), f"{t.entry_price:,.6g}",
             _time(t.exit_time), f"{t.exit_price:,.6g}", f"{t.volume:,.6g}",
             f"{t.costs:,.2f}", f"{t.net_pnl:,.2f}") for i, t in enumerate(trips)]
    classes = [[""] * 8 + [_sign_class(t.net_pnl)] for t in trips]
    note = ("<p class=note>Fills matched first in, first out; net P&amp;L after commission "
            "and slippage. A position still open at the end is not a round trip.</p>")
    return _section(f"Round trips ({len(trips):,})", table(
        ["#", "Side", "Entry", "Entry price", "Exit", "Exit price", "Volume", "Costs",
         "Net P&L"], rows, [True, False, False, True, False, True, True, True, True],
        classes) + note)


def fills_section(trades: pd.DataFrame) -> str:
    fills = run_series.fills(trades)
    offsets = (trades["offset"].tolist() if trades is not None and "offset" in trades.columns
               else [""] * len(fills))
    rows = [(_time(f.datetime), "Long" if f.direction is Direction.LONG else "Short",
             run_series.offset_text(offset), f"{f.price:,.6g}", f"{f.volume:,.6g}")
            for f, offset in zip(fills, offsets, strict=True)]
    return _section(f"Fills ({len(fills):,})", table(
        ["Time", "Direction", "Offset", "Price", "Volume"], rows,
        [False, False, False, True, True]))


def _time(value: Any) -> str:
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return _day(value)


def monte_carlo_section(description: str, rows: Sequence[Sequence[str]],
                        loss_lines: Sequence[str], fan: np.ndarray, actual: np.ndarray,
                        unit: str, labels: Sequence[str] = ()) -> str:
    """The Monte Carlo: its percentiles table (figure, 5th, 50th, 95th, this run), the loss
    chance in words and the fan chart (`fan`: the 5/25/50/75/95th percentile rows; `labels`
    name its steps, their numbers by default)."""
    labels = list(labels) or [str(i) for i in range(fan.shape[1])]
    fan_chart = chart(
        f"Equity by {unit[:-1] if unit.endswith('s') else unit}: the simulations' spread",
        labels, [Line(fan[2], MEDIAN, "median"), Line(actual, ACTUAL, "this run", width=1.2)],
        [Band(fan[0], fan[4], FAN_OUTER, 0.15, "5th-95th percentile"),
         Band(fan[1], fan[3], FAN_INNER, 0.3, "25th-75th percentile")])
    body = (f"<p>{escape(description)}</p>"
            + table(["Figure", "5th percentile", "Median", "95th percentile", "This run"],
                    rows, [False, True, True, True, True])
            + "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in loss_lines) + "</ul>"
            + fan_chart)
    return _section("Monte Carlo", body)


def criterion_text(name: str, value: Any) -> str:
    """A walk-forward criterion's measure as a trader reads it: money, a share, a percentage."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if name == "profitable overall":
        return f"{value:,.2f}"
    if name == "maximum drawdown %":
        return f"{value:.2f}%"
    return f"{value:.0%}"


def criterion_needs(name: str, threshold: Any) -> str:
    """What a walk-forward criterion needs to pass."""
    if name == "profitable overall":
        return "> 0"
    if name == "maximum drawdown %":
        return f"≤ {threshold:g}%"
    if name == "largest window's share of net profit":
        return f"≤ {threshold:.0%}"
    return f"≥ {threshold:.0%}"


def walkforward_section(record: RunRecord, windows: pd.DataFrame) -> str:
    """A walk-forward's judgement: the plan, PASSED or FAILED with the efficiency, each
    criterion with its measure and PASS or FAIL, and one row a window with the setting chosen
    in sample and its result out of sample (the statistics, equity and trades that follow
    are the stitched out-of-sample run's)."""
    plan = record.settings.get("walkforward", {})
    stats = record.stats
    criteria = stats.get("criteria") or []
    passed = bool(criteria) and all(c.get("passed") for c in criteria)
    verdict = (f"<p><span class=\"{'pass' if passed else 'fail'}\">"
               f"{'PASSED' if passed else 'FAILED'}: "
               f"{sum(1 for c in criteria if c.get('passed'))} of {len(criteria)} criteria"
               f"</span>; walk-forward efficiency "
               f"{escape(criterion_text('efficiency', stats.get('walkforward_efficiency')))}"
               "</p>")
    described = (f"{plan.get('mode', '?')} windows, {plan.get('in_sample_days', '?')} trading "
                 f"days in sample and {plan.get('out_sample_days', '?')} out; "
                 f"{plan.get('search', '?')} search towards {plan.get('target', '?')} over "
                 + "; ".join(f"{k} {v}" for k, v in plan.get("space", {}).items()))
    rows = [(c["name"], criterion_text(c["name"], c.get("value")),
             criterion_needs(c["name"], c.get("threshold")),
             "PASS" if c.get("passed") else "FAIL", c.get("note", "")) for c in criteria]
    classes = [["", "", "", "pass" if c.get("passed") else "fail", ""] for c in criteria]
    body = (f"<p>{escape(described)}</p>" + verdict
            + table(["Criterion", "Measured", "Needs", "Result", "Note"], rows,
                    [False, True, False, False, False], classes))
    if windows is not None and not windows.empty:
        params = [c for c in windows.columns if c.startswith("param: ")]
        target = f"is_{plan.get('target', '')}"
        headers = ["Window", "In sample", "Out of sample",
                   *[c.removeprefix("param: ") for c in params],
                   "Target (IS)", "Net P&L (OOS)", "Annual return % (OOS)", "Trades (OOS)"]
        window_rows = [
            (w["window"], f"{_day(w['is_start'])} to {_day(w['is_end'])}",
             f"{_day(w['oos_start'])} to {_day(w['oos_end'])}"
             + (" (partial)" if w.get("partial") else ""),
             *[w[c] for c in params], format_value("", w.get(target, math.nan), "ratio"),
             format_value("", w["oos_net_pnl"], "money"),
             format_value("", w["oos_annual_return"], "percent"),
             format_value("", w["oos_trade_count"], "int"))
            for _, w in windows.iterrows()]
        width = len(headers)
        body += table(headers, window_rows, [True, False, False] + [True] * (width - 3))
    return _section("Walk-forward", body)


def document(title: str, sections: Iterable[str]) -> str:
    """The page: the sections in order, the style inline."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            + "\n".join(sections) + "</body></html>\n")


def run_report(record: RunRecord, daily: pd.DataFrame, trades: pd.DataFrame,
               extra: Sequence[str] = (), windows: pd.DataFrame | None = None) -> str:
    """A run's report; `extra` sections (a Monte Carlo) go after the trades. A walk-forward
    (`record.kind`) has its judgement and `windows` after the header; the rest is its
    stitched out-of-sample run."""
    capital = run_series.capital_of(record.settings)
    walk = getattr(record, "kind", "backtest") == "walkforward"
    sections = [header_section(record),
                *([walkforward_section(record, windows)] if walk else []),
                statistics_section(record.stats),
                equity_section(daily, capital), monthly_section(daily, capital),
                round_trips_section(trades, record.settings), *extra, fills_section(trades)]
    kind = "walk-forward" if walk else "backtest"
    return document(f"{record.strategy} on {record.vt_symbol}: {kind} {record.run_id}",
                    sections)
