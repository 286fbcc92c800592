"""The simulated exchange's quotes: ticks made without TickData's constructor (for speed)
must be the ticks the constructor would make."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta

from vnpy.trader.object import TickData

from terminal.gateways.sim.quotes import QuoteModel
from terminal.market import contracts

START = datetime(2026, 11, 20, 10, 0)


def test_each_quote_is_the_tick_the_constructor_makes():
    rng = random.Random(5)
    models = [QuoteModel(spec, rng, "SIM") for spec in contracts.SPECS[:6]]
    made = []
    for step in range(300):
        model = models[step % len(models)]
        tick = model.step(START + timedelta(milliseconds=250 * step))
        values = {f.name: getattr(tick, f.name) for f in dataclasses.fields(TickData) if f.init}
        built = TickData(**values)
        assert type(tick) is TickData
        assert list(tick.__dict__.items()) == list(built.__dict__.items())
        assert tick.vt_symbol == f"{model.spec.symbol}.{model.spec.exchange.value}"
        made.append(tick)
    # Every quote carries its own values, none left over from the one before.
    for before, after in zip(made, made[len(models):], strict=False):
        spec = contracts.find(after.vt_symbol)
        assert after.volume == before.volume + after.last_volume
        assert abs(after.turnover - before.turnover
                   - after.last_price * after.last_volume * spec.size) < 1e-6 * after.turnover
        assert after.last_price in (after.bid_price_1, after.ask_price_1)
        assert after.low_price <= after.last_price <= after.high_price
        for level in range(1, 6):
            assert getattr(after, f"bid_volume_{level}") >= 1
            assert getattr(after, f"ask_volume_{level}") >= 1
            gap = level - 1
            assert abs(getattr(after, f"bid_price_{level}")
                       - (after.bid_price_1 - gap * spec.pricetick)) < 1e-9
            assert abs(getattr(after, f"ask_price_{level}")
                       - (after.ask_price_1 + gap * spec.pricetick)) < 1e-9
    # Each tick is its own object: the next quote of the contract changes none of it.
    first, later = made[0], made[len(models)]
    assert first is not later and first.__dict__ is not later.__dict__
    assert (first.datetime, first.volume) != (later.datetime, later.volume)
    assert first.datetime == START
