"""A trading session written through the Journal API, and 1-minute bars beside it: what the
live-performance tests (services, CLI, dock) read.

The session, trading days 2026-11-02 .. 11-04 (China time; rb2701 size 10 tick 1 fee 0.01% of
value, IF2612 size 300 tick 0.2 fee 0.0023% of value, from the contract table):

  strategy DoubleMa  rb2701  buy open 2 @ 3000 11-02 09:05:30, sell close 2 @ 3010 09:20:10
  manual             rb2701  sell open 1 @ 3020 11-02 10:01,   buy close 1 @ 3030 10:40
  strategy DoubleMa  rb2701  buy open 1 @ 3005 11-02 21:10,    sell close 1 @ 2995 22:30
                             (a night session: trading day 11-03)
  manual             IF2612  buy 1 @ 4000 11-03 09:31,         sell 1 @ 4010 09:45
  manual             IF2612  buy 1 @ 4010 11-04 09:35,         sell 1 @ 4000 10:00
  manual             xx2701  buy 1 @ 100 11-03 09:40 (a product no table knows: refused)

Bars: rb2701 1-minute bars 09:04 .. 09:21 of 11-02; inside 09:05 .. 09:20 the lowest low is
2990 and the highest high 3015; 09:04 has a low of 2900 and 09:21 a high of 3100 (outside the
first round trip: they must not count).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from vnpy.trader.constant import Direction, Exchange, Interval, Offset, OrderType, Status
from vnpy.trader.object import BarData, OrderData, TradeData

from terminal.core.timezone import CHINA_TZ
from terminal.core.trading_day import trading_day
from terminal.storage.journal import Journal

LONG, SHORT = Direction.LONG, Direction.SHORT
OPEN, CLOSE = Offset.OPEN, Offset.CLOSE
STRATEGY = "CtaStrategy_DoubleMa"

# (symbol, exchange, reference, [(direction, offset, volume, price, time), ...]) per order pair
SESSION = (
    ("rb2701", Exchange.SHFE, STRATEGY, [(LONG, OPEN, 2, 3000, "2026-11-02 09:05:30"),
                                          (SHORT, CLOSE, 2, 3010, "2026-11-02 09:20:10")]),
    ("rb2701", Exchange.SHFE, "", [(SHORT, OPEN, 1, 3020, "2026-11-02 10:01:00"),
                                    (LONG, CLOSE, 1, 3030, "2026-11-02 10:40:00")]),
    ("rb2701", Exchange.SHFE, STRATEGY, [(LONG, OPEN, 1, 3005, "2026-11-02 21:10:00"),
                                          (SHORT, CLOSE, 1, 2995, "2026-11-02 22:30:00")]),
    ("IF2612", Exchange.CFFEX, "chart", [(LONG, OPEN, 1, 4000, "2026-11-03 09:31:00"),
                                          (SHORT, CLOSE, 1, 4010, "2026-11-03 09:45:00")]),
    ("IF2612", Exchange.CFFEX, "", [(LONG, OPEN, 1, 4010, "2026-11-04 09:35:00"),
                                     (SHORT, CLOSE, 1, 4000, "2026-11-04 10:00:00")]),
    ("xx2701", Exchange.SHFE, "", [(LONG, OPEN, 1, 100, "2026-11-03 09:40:00")]),
)
FIRST_DAY, LAST_DAY = date(2026, 11, 2), date(2026, 11, 4)


def china(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def write_fills(journal: Journal, symbol: str, exchange: Exchange, reference: str,
                fills: list, first_id: int) -> int:
    """Each fill as a filled order of `reference` and its trade; returns the next id."""
    number = first_id
    for direction, offset, volume, price, when in fills:
        moment = china(when)
        order = OrderData(gateway_name="SIM", symbol=symbol, exchange=exchange,
                          orderid=str(number), type=OrderType.LIMIT, direction=direction,
                          offset=offset, price=price, volume=volume, traded=volume,
                          status=Status.ALLTRADED, datetime=moment, reference=reference)
        trade = TradeData(gateway_name="SIM", symbol=symbol, exchange=exchange,
                          orderid=str(number), tradeid=f"t{number}", direction=direction,
                          offset=offset, price=price, volume=volume, datetime=moment)
        journal.record("orders", order)
        journal.record("trades", trade)
        number += 1
    return number


def write_session(data_dir: Path, session=SESSION) -> Path:
    """The session in a journal at data_dir/journal.db (where the terminal keeps it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "journal.db"
    journal = Journal(path, trading_day)
    try:
        number = 1
        for symbol, exchange, reference, fills in session:
            number = write_fills(journal, symbol, exchange, reference, fills, number)
        journal.flush()
    finally:
        journal.close()
    return path


def session_bars() -> list[BarData]:
    bars = []
    for minute in range(4, 22):
        low, high = 2995.0, 3008.0
        if minute == 4:
            low = 2900.0
        elif minute == 21:
            high = 3100.0
        elif minute == 12:
            low = 2990.0
        elif minute == 15:
            high = 3015.0
        bars.append(BarData(gateway_name="DB", symbol="rb2701", exchange=Exchange.SHFE,
                            datetime=datetime(2026, 11, 2, 9, minute, tzinfo=CHINA_TZ),
                            interval=Interval.MINUTE, volume=10, open_price=3000,
                            high_price=high, low_price=low, close_price=3000))
    return bars
