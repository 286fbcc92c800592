"""Small builders shared by the tests, and where the project and the shared data are.

Test modules import what they share from here (`tests.helpers`, `.gui`, `.plugin_files`,
`.processes`, `.risk_gate`), never from each other or from conftest."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from vnpy.event import Event
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType
from vnpy.trader.object import OrderRequest, SubscribeRequest, TickData


PROJECT = Path(__file__).resolve().parents[2]
# Real recorded market data (see its README for the quirks); tests that read it skip, saying
# why, when the folder is not beside the project.
SHARED_DATA = PROJECT.parent / "shared" / "data"

def book(symbol: str, exchange: Exchange, bid: float, ask: float, tick: float,
         volume: float = 10, last: float | None = None, last_volume: float = 0,
         limit_pct: float = 0.1) -> TickData:
    """A 5-level book with `volume` lots on every level."""
    mid = (bid + ask) / 2
    data = TickData(
        gateway_name="SIM", symbol=symbol, exchange=exchange, datetime=datetime(2026, 11, 20, 10),
        last_price=last if last is not None else bid, last_volume=last_volume,
        limit_up=round(mid * (1 + limit_pct) / tick) * tick,
        limit_down=round(mid * (1 - limit_pct) / tick) * tick,
        pre_close=mid,
    )
    for level in range(1, 6):
        setattr(data, f"bid_price_{level}", round(bid - (level - 1) * tick, 6))
        setattr(data, f"ask_price_{level}", round(ask + (level - 1) * tick, 6))
        setattr(data, f"bid_volume_{level}", volume)
        setattr(data, f"ask_volume_{level}", volume)
    return data


def request(symbol: str, exchange: Exchange, direction: Direction, volume: float,
            price: float = 0.0, offset: Offset = Offset.OPEN,
            order_type: OrderType = OrderType.LIMIT) -> OrderRequest:
    return OrderRequest(symbol=symbol, exchange=exchange, direction=direction, type=order_type,
                        volume=volume, price=price, offset=offset)


def random_walk_bars(symbol: str = "rb2401", days: int = 4, per_day: int = 225, seed: int = 3,
                     step: float = 2.5) -> list:
    """Seeded random-walk 1-minute bars of `symbol` (SHFE) from 2023-09-25 09:00 China time,
    `per_day` consecutive minutes a day: synthetic, for tests that need many bars."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    import numpy as np
    from vnpy.trader.constant import Interval
    from vnpy.trader.object import BarData

    rng = np.random.default_rng(seed)
    closes = 3700 + np.cumsum(rng.normal(0, step, days * per_day)).round()
    first = datetime(2023, 9, 25, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    return [
        BarData("DB", symbol, Exchange.SHFE, first + timedelta(days=n // per_day,
                                                               minutes=n % per_day),
                Interval.MINUTE, volume=100, turnover=close * 1000, open_interest=1000,
                open_price=close, high_price=close + 2, low_price=close - 2, close_price=close)
        for n, close in enumerate(closes)
    ]


class EventCounter:
    """Records the events of `kind` reaching `widgets` (by default layout requests: each one
    lays them out again, and a dock's parent is the main window)."""

    def __init__(self, widgets, kind=None) -> None:
        from PySide6.QtCore import QEvent, QObject

        watched, self.seen = set(widgets), []
        seen, kind = self.seen, kind or QEvent.Type.LayoutRequest

        class Filter(QObject):
            def eventFilter(self, receiver, event):
                if event.type() == kind and receiver in watched:
                    seen.append(receiver)
                return False

        self._filter = Filter()
        for widget in watched:
            widget.installEventFilter(self._filter)


class Submissions:
    """What reaches the simulated exchange itself, below every gateway method."""

    def __init__(self, gateway) -> None:
        self.requests: list[OrderRequest] = []
        submit = gateway.exchange.submit

        def counted(req, orderid, now):
            self.requests.append(req)
            return submit(req, orderid, now)

        gateway.exchange.submit = counted


def next_quotes(runtime, rounds: int = 1) -> None:
    """Move the simulated market of the `terminal` fixture on until every contract has
    quoted `rounds` more times; returns once the exchange has made the quotes (the events
    are then on their way to the engine and the GUI)."""
    gateway = runtime.kernel.main_engine.get_gateway("SIM")
    gateway.advance(rounds / gateway.quote_rate)


def drained(engine, timeout: float = 30.0) -> None:
    """Return once `engine` has dispatched every event put before this call (`timeout`
    only bounds a dead dispatch thread)."""
    kind = f"eDrained.{id(threading.current_thread())}"
    done = threading.Event()
    handler = lambda event: done.set()  # noqa: E731
    engine.register(kind, handler)
    try:
        engine.put(Event(kind))
        assert done.wait(timeout), "the event engine did not dispatch"
    finally:
        engine.unregister(kind, handler)


def simulator(rate: float, subscribe=(), capital: float = 1_000_000, seed: int = 7,
              start: datetime | None = None):
    """A running event engine and a simulated exchange on a `ManualClock` (from `start`,
    by default the current minute), connected, with `subscribe` (vt_symbols) subscribed and
    their books dispatched: whatever comes after is what the test makes come
    (`SimGateway.advance`). Returns (engine, gateway)."""
    from terminal.core.events import IsolatedEventEngine
    from terminal.gateways.sim import SimGateway
    from terminal.gateways.sim.clock import ManualClock

    engine = IsolatedEventEngine()
    engine.start()
    gateway = SimGateway(engine)
    gateway.clock = ManualClock(start)
    gateway.connect({"quote_rate": rate, "capital": capital, "seed": seed})
    for vt_symbol in subscribe:
        symbol, exchange = vt_symbol.rsplit(".", 1)
        gateway.subscribe(SubscribeRequest(symbol, Exchange(exchange)))
    gateway.advance(0)
    drained(engine)
    return engine, gateway
