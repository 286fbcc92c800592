"""`SimGateway`: the simulated exchange behind vn.py's gateway interface.

One thread owns the exchange. Orders and cancels arrive through a queue and are handled at
once; between them the thread produces quote snapshots for every contract, staggered so that
each contract gets `quote_rate` snapshots a second. Ticks are published for subscribed
contracts only, but every contract's market moves, so orders in any of them can be matched.
"""

from __future__ import annotations

import itertools
import logging
import queue
import random
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from vnpy.event import EventEngine
from vnpy.trader.constant import Exchange, Status
from vnpy.trader.gateway import BaseGateway
from vnpy.trader.object import CancelRequest, OrderRequest, SubscribeRequest

from terminal.gateways.sim.exchange import ExchangeSink, SimExchange
from terminal.gateways.sim.quotes import QuoteModel
from terminal.market import contracts
from terminal.market.contracts import ContractSpec

CHINA_TZ = ZoneInfo("Asia/Shanghai")
log = logging.getLogger(__name__)


class SimGateway(BaseGateway):
    default_name = "SIM"
    default_setting: dict[str, str | int | float | bool] = {
        "quote_rate": 2.0,
        "capital": 1_000_000.0,
        "seed": 0,
    }
    exchanges = [Exchange.SHFE, Exchange.INE, Exchange.DCE, Exchange.CZCE, Exchange.CFFEX]

    def __init__(self, event_engine: EventEngine, gateway_name: str = "SIM") -> None:
        super().__init__(event_engine, gateway_name)
        self.specs: tuple[ContractSpec, ...] = contracts.SPECS
        self._commands: queue.Queue = queue.Queue()
        self._subscribed: set[str] = set()
        self._thread: threading.Thread | None = None
        self._active = False
        self._order_ids = itertools.count(1)
        self._session = time.strftime("%H%M%S")
        self.exchange: SimExchange | None = None
        self.quote_rate = 2.0
        self.connected = threading.Event()

    # ------------------------------------------------------------------ BaseGateway API
    def connect(self, setting: dict) -> None:
        if self._active:
            return
        rate = float(setting.get("quote_rate", 2.0))
        capital = float(setting.get("capital", 1_000_000.0))
        seed = int(setting.get("seed", 0)) or random.SystemRandom().randrange(1, 2**31)
        if rate <= 0 or capital <= 0:
            self.write_log(f"simulated exchange: invalid setting rate={rate} capital={capital}")
            return
        self.quote_rate = rate
        sink = ExchangeSink(self.on_order, self.on_trade, self.on_position, self.on_account)
        self.exchange = SimExchange(self.specs, capital, self.gateway_name, sink)
        rng = random.Random(seed)
        self._models = [QuoteModel(spec, rng, self.gateway_name) for spec in self.specs]
        now = datetime.now(CHINA_TZ)
        for model in self._models:  # every contract has a book before the first order
            self.exchange.on_book(model.step(now), now)
        for spec in self.specs:
            self.on_contract(self.exchange.contract_data(spec))
        self.exchange.publish_all()
        self._active = True
        self._thread = threading.Thread(target=self._run, name="sim-exchange", daemon=True)
        self._thread.start()
        self.connected.set()
        self.write_log(
            f"simulated exchange connected: {len(self.specs)} contracts, "
            f"{rate:g} quotes/s each, capital {capital:,.0f}, seed {seed}"
        )

    def close(self) -> None:
        self._active = False
        self._commands.put(("stop",))
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None
        self.connected.clear()

    def subscribe(self, req: SubscribeRequest) -> None:
        if contracts.find(req.vt_symbol) is None:
            self.write_log(f"simulated exchange: no contract {req.vt_symbol} to subscribe")
            return
        self._subscribed.add(req.vt_symbol)
        self._commands.put(("snapshot", req.vt_symbol))  # as CTP does: the current book at once

    def send_order(self, req: OrderRequest) -> str:
        orderid = f"{self._session}_{next(self._order_ids)}"
        order = req.create_order_data(orderid, self.gateway_name)
        order.datetime = datetime.now(CHINA_TZ)
        if not self._active:
            order.status = Status.REJECTED
            order.extra = {"reason": "simulated exchange is not connected"}
            self.on_order(order)
            return order.vt_orderid
        self.on_order(order)
        self._commands.put(("order", req, orderid))
        return order.vt_orderid

    def cancel_order(self, req: CancelRequest) -> None:
        self._commands.put(("cancel", f"{self.gateway_name}.{req.orderid}"))

    def query_account(self) -> None:
        self._commands.put(("publish",))

    def query_position(self) -> None:
        self._commands.put(("publish",))

    # ------------------------------------------------------------------ exchange thread
    def _run(self) -> None:
        exchange = self.exchange
        assert exchange is not None
        interval = 1.0 / (self.quote_rate * len(self._models))
        next_quote = time.monotonic() + interval
        models = itertools.cycle(self._models)
        day = contracts.trading_day(datetime.now(CHINA_TZ))
        while self._active:
            try:
                command = self._commands.get(timeout=max(0.0, next_quote - time.monotonic()))
            except queue.Empty:
                command = None
            try:
                if command is not None:
                    self._handle(command)
                    continue
                now = datetime.now(CHINA_TZ)
                model = next(models)
                tick = model.step(now)
                exchange.on_book(tick, now)
                if tick.vt_symbol in self._subscribed:
                    self.on_tick(tick)
                next_quote += interval
                behind = time.monotonic() - next_quote
                if behind > 1.0:  # the machine stalled; do not burst to catch up
                    next_quote = time.monotonic() + interval
                today = contracts.trading_day(now)
                if today != day:
                    day = today
                    exchange.roll_trading_day()
                    self.write_log(f"simulated exchange: new trading day {day}")
            except Exception:  # noqa: BLE001 - the exchange must outlive one bad command
                log.exception("simulated exchange failed on %r", command)
                self.write_log(f"simulated exchange error on {command!r}; see the log file")

    def _handle(self, command: tuple) -> None:
        kind = command[0]
        exchange = self.exchange
        assert exchange is not None
        if kind == "order":
            _, req, orderid = command
            exchange.submit(req, orderid, datetime.now(CHINA_TZ))
        elif kind == "cancel":
            if not exchange.cancel(command[1], datetime.now(CHINA_TZ)):
                self.write_log(f"cancel ignored: {command[1]} is not working")
        elif kind == "snapshot":
            book = exchange.books.get(command[1])
            if book is not None:
                self.on_tick(book)
        elif kind == "publish":
            exchange.publish_all()
        elif kind == "stop":
            self._active = False
