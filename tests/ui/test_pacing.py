"""Display pacing: models take every batch, what is drawn follows at a reading pace, and the
latest state is always what ends up on screen."""

from __future__ import annotations

import copy
import time

import pytest
from vnpy.trader.constant import Direction

from terminal.core.bridge import Batch
from tests.helpers import EventCounter
from tests.helpers.gui import RB, WAIT, fill_ticket, marketable_buy_price, wait_for_quotes
import itertools


class Now:
    """A pacer's time, moved by the test: the checks are on when a show is due, not on when
    a busy machine got round to running its timer."""

    def __init__(self) -> None:
        self.seconds = time.perf_counter()

    def __call__(self) -> float:
        return self.seconds


def on_tick(pacer, moment: float) -> bool:
    ticks = (moment - pacer.clock.origin) / pacer.gap
    return abs(ticks - round(ticks)) < 1e-6


def shown_when_due(qtbot, pacer, now: Now) -> None:
    """Move `now` to the pending show and let its timer fire."""
    now.seconds = max(now.seconds, pacer.due)
    qtbot.waitUntil(lambda: not pacer.pending, timeout=WAIT)


def test_pacer_folds_a_burst_into_one_showing_and_always_shows_the_last_request(qtbot):
    from terminal.ui.pacing import Pacer

    now, shown = Now(), []
    pacer = Pacer(lambda: shown.append(pacer.due), per_second=10, now=now)
    start = now.seconds
    for _ in range(50):
        pacer.request()
    assert shown == [] and pacer.pending          # nothing inside the caller's turn
    assert start <= pacer.due < start + pacer.gap and on_tick(pacer, pacer.due)
    assert pacer._timer.interval() == round((pacer.due - start) * 1000)
    shown_when_due(qtbot, pacer, now)
    assert len(shown) == 1                        # the burst was one request's worth

    # Requests every 5 ms for 0.5 s: one showing at each tick of the clock, none closer
    # than the gap, and the last request shown at the first tick after it.
    end = now.seconds + 0.5
    while now.seconds < end:
        if pacer.pending and pacer.due <= now.seconds:
            shown_when_due(qtbot, pacer, now)
        pacer.request()
        last_request = now.seconds
        now.seconds += 0.005
    shown_when_due(qtbot, pacer, now)
    assert shown[-1] >= last_request > shown[-1] - pacer.gap   # the last request was shown
    gaps = [b - a for a, b in itertools.pairwise(shown)]
    assert gaps == pytest.approx([pacer.gap] * len(gaps))
    assert len(gaps) in (5, 6)

    pacer.request()
    assert pacer.pending and pacer.due > shown[-1]             # never the tick last given
    pacer.cancel()
    assert not pacer.pending                                   # its timer is stopped
    qtbot.wait(1)
    assert len(shown) == len(gaps) + 1


def test_a_request_can_wait_for_a_later_time_and_still_lands_on_its_clock(qtbot):
    """The market watch's reshapes wait out their own gap: a request `after` a time shows at
    the first tick of the view's clock from then on."""
    from terminal.ui.pacing import Pacer

    now, shown = Now(), []
    pacer = Pacer(lambda: shown.append(pacer.due), per_second=20, now=now)
    later = now.seconds + 0.2
    pacer.request(after=later)
    assert later <= pacer.due < later + pacer.gap and on_tick(pacer, pacer.due)
    assert pacer._timer.interval() == round((pacer.due - now.seconds) * 1000)
    shown_when_due(qtbot, pacer, now)
    assert shown == [pacer.due]


def test_views_paced_at_one_rate_show_in_turns(qtbot):
    """Views asked to show by the same batch draw at different times within the period,
    each with its own short paint, not all in one long stall."""
    from terminal.ui.pacing import Pacer

    now, shown = Now(), {}
    pacers = [Pacer(lambda n=n: shown.setdefault(n, pacers[n].due), per_second=10, now=now)
              for n in range(4)]
    for pacer in pacers:
        pacer.request()
    times = sorted(pacer.due for pacer in pacers)
    gap = pacers[0].gap
    assert min(b - a for a, b in itertools.pairwise(times)) > 0.1 * gap
    assert times[-1] - times[0] < gap
    qtbot.waitUntil(lambda: len(shown) == 4, timeout=WAIT)
    assert sorted(shown.values()) == times


ASK_1, BID_1 = 4, 5       # the book's rows: asks 5..1 above bids 1..5


def _ticks_from(tick, count: int, pricetick: float) -> list:
    """`count` copies of `tick`, each book one tick higher than the one before."""
    ticks = []
    for step in range(1, count + 1):
        moved = copy.copy(tick)
        for level in range(1, 6):
            for side in ("bid", "ask"):
                name = f"{side}_price_{level}"
                setattr(moved, name, getattr(tick, name) + step * pricetick)
        ticks.append(moved)
    return ticks


def test_the_ticket_book_shows_the_latest_tick_after_a_burst_without_writing_each(
        qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    ticket = fill_ticket(window)
    qtbot.waitUntil(lambda: ticket.depth.item(4, 1).text() != "", timeout=WAIT)
    contract = runtime.trading.contract(RB)
    burst = _ticks_from(runtime.kernel.main_engine.get_tick(RB), 30, contract.pricetick)
    writes = []
    ticket.depth.model().dataChanged.connect(lambda *args: writes.append(args))

    for tick in burst:
        ticket.apply(Batch(ticks={RB: tick}))
    assert ticket._tick is burst[-1]          # orders and the price field read the latest
    assert writes == []                       # the book is drawn after the burst, once

    last, shown = burst[-1], ticket._format
    qtbot.waitUntil(lambda: ticket.depth.item(ASK_1, 1).text() == shown(last.ask_price_1),
                    timeout=1_000)
    assert ticket.depth.item(BID_1, 1).text() == shown(last.bid_price_1)
    assert ticket.depth.item(ASK_1 - 4, 1).text() == shown(last.ask_price_5)


def test_a_held_position_moving_with_every_tick_lays_nothing_out(qtbot, terminal):
    """The positions dock's floating P&L total changes at every tick: as a QLabel, each
    change laid the dock and the main window out again."""
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    ticket = fill_ticket(window, price=marketable_buy_price(runtime))
    assert ticket.buy()
    positions = window.positions
    qtbot.waitUntil(lambda: positions.model.find(f"SIM.{RB}.{Direction.LONG.value}")
                    is not None, timeout=WAIT)
    qtbot.wait(100)                           # the row's own layout settles
    layouts = EventCounter([positions, positions.parentWidget()])
    contract = runtime.trading.contract(RB)
    for tick in _ticks_from(runtime.kernel.main_engine.get_tick(RB), 20, contract.pricetick):
        moved = copy.copy(tick)
        moved.last_price = tick.ask_price_1
        positions.apply(Batch(ticks={RB: moved}))
        qtbot.wait(5)
    expected = f"Float P&L {positions.model.total_pnl():,.2f}"
    assert positions.total_label.text() == expected
    assert layouts.seen == []
