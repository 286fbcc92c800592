"""Trading sessions of China futures products, as a minute-of-day map.

Bars are built on trading minutes, not clock minutes: a 30-minute bar of rebar that starts at
10:00 ends at 10:45 because 10:15-10:30 is a short break, but no bar crosses the lunch break or
the gap before the night session. A *segment* is a run of sessions split only by short breaks;
bars never span two segments.

Sessions are listed in trading-day order (night first). Products not in the table get their
sessions from the data itself (`infer`): every minute of day that holds a bar is a trading minute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

import numpy as np
from vnpy.trader.constant import Exchange

from terminal.market import contracts
from terminal.market.contracts import (CFFEX_BOND, CFFEX_INDEX, DAY_ONLY, NIGHT_0100,
                                       NIGHT_0230, NIGHT_2300, Session)

MINUTES_PER_DAY = 1440
SHORT_BREAK = 30          # minutes; a longer gap (lunch, evening) starts a new segment
NIGHT_FROM = 18 * 60      # sessions opening at or after 18:00 are night sessions

_BY_PRODUCT: dict[tuple[Exchange, str], tuple[Session, ...]] = {}
for _exchange, _products, _sessions in (
    (Exchange.SHFE, "rb hc bu ru fu sp", NIGHT_2300),
    (Exchange.SHFE, "cu al zn pb ni sn ss ao bc", NIGHT_0100),
    (Exchange.SHFE, "au ag", NIGHT_0230),
    (Exchange.SHFE, "wr", DAY_ONLY),
    (Exchange.INE, "sc", NIGHT_0230),
    (Exchange.INE, "bc", NIGHT_0100),
    (Exchange.INE, "lu nr", NIGHT_2300),
    (Exchange.INE, "ec", DAY_ONLY),
    (Exchange.DCE, "a b m y p c cs i j jm l v pp eg eb pg rr lg", NIGHT_2300),
    (Exchange.DCE, "jd lh fb bb", DAY_ONLY),
    (Exchange.CZCE, "SR CF TA MA RM OI FG SA ZC CY PF PX SH", NIGHT_2300),
    (Exchange.CZCE, "AP CJ UR SF SM WH PM RI JR LR RS PK", DAY_ONLY),
    (Exchange.CFFEX, "IF IH IC IM", CFFEX_INDEX),
    (Exchange.CFFEX, "T TF TS TL", CFFEX_BOND),
    (Exchange.GFEX, "si lc ps", DAY_ONLY),
):
    for _product in _products.split():
        _BY_PRODUCT[(_exchange, _product)] = _sessions
for _spec in contracts.SPECS:
    _BY_PRODUCT[(_spec.exchange, _spec.product)] = _spec.sessions

_PRODUCT = re.compile(r"^([A-Za-z]+)")


@dataclass(frozen=True)
class SessionMap:
    """For each minute of day: its segment (-1 when not traded) and its trading-minute offset
    within that segment; and for each segment, the minute of day at each offset."""
    segment: np.ndarray            # int16[1440]
    offset: np.ndarray             # int32[1440]
    night: np.ndarray              # bool[1440]: traded in the evening or after midnight
    clock: tuple[np.ndarray, ...]  # per segment: minute of day at each offset

    def segment_length(self, index: int) -> int:
        return len(self.clock[index])


def product_of(symbol: str) -> str:
    match = _PRODUCT.match(symbol)
    return match.group(1) if match else symbol


def sessions_for(symbol: str, exchange: Exchange) -> tuple[Session, ...] | None:
    product = product_of(symbol)
    return _BY_PRODUCT.get((exchange, product)) or _BY_PRODUCT.get((exchange, product.lower())) \
        or _BY_PRODUCT.get((exchange, product.upper()))


def _minute(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def build(sessions: tuple[Session, ...]) -> SessionMap:
    """The map of sessions given as (open, close) clock times in trading-day order."""
    runs = []
    for start, end in sessions:
        first, stop = _minute(start), _minute(end)
        length = (stop - first) % MINUTES_PER_DAY
        runs.append([(first + i) % MINUTES_PER_DAY for i in range(length)])
    return _from_runs(runs)


def infer(minutes_of_day: np.ndarray, period: int = 1) -> SessionMap:
    """Sessions as the runs of minutes of day that hold bars of `period` minutes each."""
    traded = np.zeros(MINUTES_PER_DAY, dtype=bool)
    for step in range(period):
        traded[(np.unique(minutes_of_day) + step) % MINUTES_PER_DAY] = True
    if traded.all():
        return _from_runs([[(360 + m) % MINUTES_PER_DAY for m in range(MINUTES_PER_DAY)]])
    # Start the walk at the evening (trading-day order), at a minute that is not traded.
    start = next(m for m in range(NIGHT_FROM, NIGHT_FROM + MINUTES_PER_DAY)
                 if not traded[m % MINUTES_PER_DAY])
    runs: list[list[int]] = []
    for step in range(MINUTES_PER_DAY):
        minute = (start + step) % MINUTES_PER_DAY
        if traded[minute]:
            if not runs or runs[-1][-1] != (minute - 1) % MINUTES_PER_DAY:
                runs.append([])
            runs[-1].append(minute)
    return _from_runs(runs)


def _from_runs(runs: list[list[int]]) -> SessionMap:
    segment = np.full(MINUTES_PER_DAY, -1, dtype=np.int16)
    offset = np.zeros(MINUTES_PER_DAY, dtype=np.int32)
    night = np.zeros(MINUTES_PER_DAY, dtype=bool)
    clocks: list[list[int]] = []
    for position, run in enumerate(runs):
        gap = (run[0] - runs[position - 1][-1] - 1) % MINUTES_PER_DAY if position else None
        if gap is None or gap > SHORT_BREAK:
            clocks.append([])
        index = len(clocks) - 1
        for minute in run:
            segment[minute] = index
            offset[minute] = len(clocks[index])
            clocks[index].append(minute)
    # The night is what trades before the first session that opens in the morning.
    for run in runs:
        if run[0] < NIGHT_FROM and run[0] >= 6 * 60:
            break
        night[run] = True
    return SessionMap(segment, offset, night, tuple(np.array(c, dtype=np.int32) for c in clocks))
