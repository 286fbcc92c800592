"""Smoke mode: the whole terminal, one real round trip through the GUI, one summary line.

Used by CI and by the frozen-build check: quotes must reach the market watch, an order sent
from the order ticket must fill and show in trades and positions.
"""

from __future__ import annotations

import asyncio
import time

from vnpy.trader.constant import Offset, OrderType

from terminal.core.looplag import LoopLagMonitor
from terminal.market.prices import decimals_for

PREFERRED_SYMBOL = "rb2701.SHFE"


class SmokeFailure(RuntimeError):
    pass


async def wait_for(condition, timeout: float, what: str, poll: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SmokeFailure(f"{what} within {timeout:g} s")
        await asyncio.sleep(poll)


async def round_trip(runtime, window, timeout: float) -> str:
    """Buy one lot from the order ticket and wait for the fill in trades and positions."""
    watch = window.market_watch.model
    await wait_for(lambda: watch.rowCount() > 0, timeout, "no quotes reached the market watch")
    symbol = PREFERRED_SYMBOL if watch.find(PREFERRED_SYMBOL) else watch.record(0).vt_symbol
    ticket = window.ticket
    ticket.load_symbol(symbol)
    tick = runtime.kernel.main_engine.get_tick(symbol)
    contract = runtime.trading.contract(symbol)
    if tick is None or contract is None:
        raise SmokeFailure(f"no quote or contract for {symbol}")
    price = tick.ask_price_1 + 2 * contract.pricetick
    ticket.type_box.setCurrentIndex(ticket.type_box.findData(OrderType.LIMIT))
    ticket.offset_box.setCurrentIndex(ticket.offset_box.findData(Offset.OPEN))
    ticket.price_edit.setText(f"{price:.{decimals_for(contract.pricetick)}f}")
    ticket.volume_edit.setText("1")
    vt_orderid = ticket.buy()
    if not vt_orderid:
        raise SmokeFailure(f"the order ticket refused the order: {ticket.error_label.text()}")
    trades, positions = window.trades.model, window.positions.model
    await wait_for(
        lambda: any(t.vt_orderid == vt_orderid for t in trades.records()),
        timeout, f"order {vt_orderid} did not fill",
    )
    await wait_for(
        lambda: any(p.vt_symbol == symbol for p in positions.records()),
        timeout, f"no {symbol} position appeared after the fill",
    )
    return vt_orderid


async def run_smoke(runtime, window, lag: LoopLagMonitor, seconds: float) -> int:
    started = time.monotonic()
    watch = window.market_watch.model
    start_up_lag = 0.0
    try:
        await wait_for(lambda: watch.rowCount() > 0, max(seconds, 10.0),
                       "no quotes reached the market watch")
        # Start-up (first show, first fill of every table) is reported apart from running.
        start_up_lag, lag.worst = lag.worst, 0.0
        await round_trip(runtime, window, timeout=max(seconds, 10.0))
        await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
        errors = runtime.kernel.event_engine.handler_errors + window.pump.consumer_errors
        if errors:
            raise SmokeFailure(f"{errors} event handler error(s); see the log")
    except SmokeFailure as exc:
        print(f"smoke: FAILED: {exc}", flush=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - any crash is a failed smoke run, with its reason
        print(f"smoke: FAILED: {type(exc).__name__}: {exc}", flush=True)
        return 1
    elapsed = time.monotonic() - started
    print(
        f"smoke: ok in {elapsed:.1f} s: ticks received {window.pump.tick_events}, "
        f"orders {window.orders.model.rowCount()}, fills {window.trades.model.rowCount()}, "
        f"worst GUI loop lag {lag.worst * 1000:.1f} ms "
        f"({start_up_lag * 1000:.1f} ms while starting)",
        flush=True,
    )
    return 0
