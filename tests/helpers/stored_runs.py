"""A finished run put in a RunStore by hand, with daily results and fills a test chose (no
vn.py run): what the Monte Carlo and the reports read."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from terminal.backtest.runs import RunStore

SETTINGS = {"capital": 100_000.0, "rate": 0.0, "slippage": 0.0, "size": 10.0,
            "pricetick": 1.0, "warmup": "the strategy's warm-up: 10 days of 1m bars"}


def daily_frame(days: list[date], net_pnl: list[float], capital: float) -> pd.DataFrame:
    """Daily results as RunStore keeps them (vn.py's columns the reports read)."""
    balance = pd.Series(net_pnl, dtype=float).cumsum() + capital
    frame = pd.DataFrame({"date": days, "net_pnl": net_pnl, "commission": 0.0,
                          "slippage": 0.0, "turnover": 0.0, "balance": balance,
                          "drawdown": balance - balance.cummax().clip(lower=capital)})
    return frame.set_index("date")


def round_trip_fills(results: list[float], size: float, start: datetime,
                     price: float = 3_000.0) -> pd.DataFrame:
    """Fills of one-lot long round trips, bought at `price` and sold so that each makes
    `results[i]` (money, before costs), in that order; stored enum values ("多", "开")."""
    rows = []
    when = start
    for i, pnl in enumerate(results):
        exit_price = price + pnl / size
        for direction, offset, fill_price in (("多", "开", price), ("空", "平", exit_price)):
            rows.append({"datetime": when, "tradeid": f"{len(rows) + 1}",
                         "orderid": f"o{i}", "symbol": "rb2401", "exchange": "SHFE",
                         "direction": direction, "offset": offset, "price": fill_price,
                         "volume": 1.0})
            when += timedelta(minutes=5)
    return pd.DataFrame(rows)


def store_run(runs: RunStore, daily: pd.DataFrame, trades: pd.DataFrame,
              strategy: str = "DoubleMaStrategy", settings: dict | None = None,
              params: dict | None = None, stats: dict | None = None) -> str:
    """A done run with these results; its id."""
    settings = {**SETTINGS, **(settings or {})}
    start = daily.index[0] if len(daily) else date(2023, 1, 3)
    end = daily.index[-1] if len(daily) else date(2023, 1, 3)
    run_id = runs.create(strategy, "rb2401.SHFE", "1m", start, end, settings,
                         params if params is not None else {"fast_window": 10})
    runs.save_result(run_id, stats if stats is not None else {
        "total_net_pnl": float(daily["net_pnl"].sum()) if len(daily) else 0.0,
        "capital": settings["capital"]}, daily, trades)
    return run_id


def trading_days(count: int, first: date = date(2023, 1, 30)) -> list[date]:
    """`count` weekdays from `first`."""
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days
