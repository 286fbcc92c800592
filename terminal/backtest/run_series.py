"""A stored run's series as the Monte Carlo and the reports read them: its equity by day,
its fills as objects `stats.round_trips` matches, and its round trips with the costs the run
was charged.

The run store keeps the daily results and the fills as frames (`RunStore.load_daily`,
`load_trades`: enums by their values, which are vn.py's translated names: "Long"/"Short" in
English, "多"/"空" in Chinese); these turn them back into what the domain functions take,
nothing recomputed by vn.py. Either language's names are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from vnpy.trader.constant import Direction

from terminal.backtest.stats import RoundTrip, round_trips


# vn.py's enum values in both of its languages (its constants are translated at import)
DIRECTIONS = {"Long": Direction.LONG, "多": Direction.LONG,
              "Short": Direction.SHORT, "空": Direction.SHORT}
OFFSETS = {"Open": "Open", "开": "Open", "Close": "Close", "平": "Close",
           "Close Today": "Close today", "平今": "Close today",
           "Close Yesterday": "Close yesterday", "平昨": "Close yesterday", "": ""}


@dataclass(frozen=True)
class Fill:
    """One stored fill, as `stats.round_trips` reads it."""

    datetime: datetime
    direction: Direction
    price: float
    volume: float


def capital_of(settings: dict) -> float:
    """The starting capital a run kept (its settings JSON); refused when missing or not > 0."""
    value = settings.get("capital")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"the run's settings hold no starting capital above 0 "
                         f"(capital={value!r})")
    return float(value)


def equity(daily: pd.DataFrame, capital: float) -> np.ndarray:
    """E_0 = capital, E_t = capital + the sum of the daily net P&L to day t (vn.py's balance):
    one value more than the run has days."""
    if daily is None or daily.empty or "net_pnl" not in daily.columns:
        return np.array([float(capital)])
    net = daily["net_pnl"].to_numpy(dtype=float)
    return np.concatenate(([float(capital)], float(capital) + np.cumsum(net)))


def day_text(value: object) -> str:
    """A trading day of the daily results as YYYY-MM-DD."""
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def fills(trades: pd.DataFrame) -> list[Fill]:
    """The stored fills (runs.TRADE_COLUMNS) in their order; a row whose direction is not
    long or short is refused, naming the row."""
    if trades is None or trades.empty:
        return []
    out = []
    times = pd.to_datetime(trades["datetime"])
    for row, (when, side, price, volume) in enumerate(zip(
            times, trades["direction"], trades["price"], trades["volume"], strict=True)):
        direction = side if isinstance(side, Direction) else DIRECTIONS.get(side)
        if direction not in (Direction.LONG, Direction.SHORT):
            raise ValueError(f"trades: row {row}: direction {side!r} is neither long nor "
                             "short")
        out.append(Fill(when.to_pydatetime(), direction, float(price), float(volume)))
    return out


def offset_text(value: object) -> str:
    """A stored offset as the terminal writes it ("Open", "Close today")."""
    return OFFSETS.get(value, "" if value is None else str(value))


def size_of(settings: dict) -> float:
    """The contract size a run kept; refused when missing or not > 0 (a P&L priced at a
    guessed size would be wrong by that factor)."""
    value = settings.get("size")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"the run's settings hold no contract size above 0 (size={value!r})")
    return float(value)


def stored_round_trips(trades: pd.DataFrame, settings: dict) -> list[RoundTrip]:
    """The run's closed round trips, first in first out, with the commission and slippage of
    its settings (size, rate, slippage), as `stats.compute` counted them. A walk-forward's
    fills (a "window" column) are matched window by window, as its statistics were: every
    window starts flat, and a lot a window leaves open is valued at its end, not closed by
    the next window's fills."""
    size = size_of(settings)
    rate, slippage = (float(settings.get(key) or 0) for key in ("rate", "slippage"))
    if trades is not None and "window" in trades.columns:
        return [trip for _, part in trades.groupby("window", sort=True)
                for trip in round_trips(fills(part), size, rate, slippage)]
    return round_trips(fills(trades), size, rate, slippage)
