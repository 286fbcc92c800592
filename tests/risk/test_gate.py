"""The pre-trade risk gate: each rule denies what it should (naming itself and the numbers) and
passes what it should; the trading states; risk.json loading and saving."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType

from terminal.core.orders import TRADER_CLOSE, vouch
from terminal.risk import (
    RULES,
    LoadedRisk,
    RiskConfig,
    RiskConfigError,
    RiskGate,
    RiskLimits,
    TradingState,
    load,
    parse,
    save,
)
from terminal.risk.resting import RestingOrders
from tests.helpers.risk_gate import RB, FakeClock, assert_allowed, assert_denied, ctx, req


def make_gate(state=TradingState.ACTIVE, symbols=None, clock=None, trading_day=None,
              **limits) -> RiskGate:
    config = RiskConfig(state, RiskLimits(**limits), symbols or {})
    kwargs = {}
    if trading_day is not None:
        kwargs["trading_day"] = trading_day
    return RiskGate(config, clock=clock or FakeClock(), **kwargs)


# ---- every rule: the violating order is denied, the compliant one passes -------------------
# (rule, limits, violating request, its context, compliant request, its context, words)
CASES = [
    ("max_order_volume", {}, dict(volume=51), {}, dict(volume=50), {},
     ["volume 51", "maximum of 50 lots per order"]),
    ("max_order_notional", {"max_order_notional": 1_000_000}, dict(volume=31), {},
     dict(volume=30), {}, ["1,007,500 CNY", "1,000,000 CNY"]),
    ("max_funds_share", {}, dict(volume=31), dict(available=1_000_000, commission_rate=0.0),
     dict(volume=30), dict(available=1_000_000, commission_rate=0.0),
     ["100,750 CNY", "10% of the available funds 1,000,000 CNY", "(100,000 CNY)"]),
    ("max_position", {}, dict(volume=11), dict(long_volume=60, short_volume=30),
     dict(volume=10), dict(long_volume=60, short_volume=30),
     ["90 lots", "plus 11", "reach 101 lots in rb2701.SHFE", "limit is 100 lots"]),
    ("max_working_orders", {}, {}, dict(working_orders=50), {}, dict(working_orders=49),
     ["50 orders are working", "maximum is 50"]),
    ("price_band", {}, dict(price=3413.0), {}, dict(price=3412.0), {},
     ["price 3413", "5.015% above", "last price 3250", "5% either side"]),
    ("price_band", {}, dict(price=3087.0), {}, dict(price=3088.0), {},
     ["price 3087", "5.015% below", "last price 3250"]),
    ("price_tick", {}, dict(symbol="IF2612", exchange=Exchange.CFFEX, price=4100.1, volume=1),
     dict(last_price=4100.0), dict(symbol="IF2612", exchange=Exchange.CFFEX, price=4100.2,
                                   volume=1), dict(last_price=4100.0),
     ["price 4100.1", "tick 0.2"]),
    ("price_tick", {}, dict(price=0.0), {}, dict(price=1.0), dict(last_price=None),
     ["price 0", "above 0"]),
    ("contract_volume", {}, dict(volume=6), dict(contract=replace(RB, max_volume=5)),
     dict(volume=5), dict(contract=replace(RB, max_volume=5)),
     ["volume 6", "exchange maximum of 5 lots"]),
    ("contract_volume", {}, dict(volume=1.5), {}, dict(volume=1), {},
     ["volume 1.5", "whole number"]),
    ("contract_volume", {}, dict(volume=0), {}, dict(volume=1), {}, ["volume 0", "above 0"]),
    ("reference_price", {}, dict(type=OrderType.MARKET, price=0.0), dict(last_price=None),
     dict(type=OrderType.MARKET, price=0.0), {}, ["market order", "rb2701.SHFE"]),
]


@pytest.mark.parametrize(("rule", "limits", "bad", "bad_ctx", "good", "good_ctx", "words"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_rule_denies_the_violation_and_passes_the_compliant_order(
        rule, limits, bad, bad_ctx, good, good_ctx, words):
    gate = make_gate(**limits)
    bad_req, good_req = req(**bad), req(**good)
    assert_denied(gate.check(bad_req, ctx(bad_req, **bad_ctx)), rule, *words)
    assert_allowed(gate.check(good_req, ctx(good_req, **good_ctx)))


def test_every_rule_id_is_listed_and_covered():
    covered = {case[0] for case in CASES} | {
        "close_exceeds_position", "halted", "reduce_only", "max_orders_per_second",
        "max_cancels_per_day", "duplicate_order",
        # tests/risk/test_conduct.py
        "self_trade", "max_actions_per_second", "max_actions_per_day"}
    assert covered == set(RULES)


def test_compliant_order_passes_with_every_rule_on():
    gate = make_gate()
    assert_allowed(gate.check(req(), ctx()))
    assert gate.config.global_limits == RiskLimits()


def test_contract_minimum_volume():
    contract = replace(RB, min_volume=2)
    gate = make_gate()
    assert_denied(gate.check(req(volume=1), ctx(contract=contract)), "contract_volume",
                  "volume 1", "minimum of 2")
    assert_allowed(gate.check(req(volume=2), ctx(contract=contract)))


def test_funds_share_counts_commission_and_skips_closing_orders():
    gate = make_gate()
    # 30 lots: margin 97,500 + commission 3,000 = 100,500 > 10% of 1,000,000.
    context = ctx(available=1_000_000, commission_rate=0.0, commission_per_lot=100)
    assert_denied(gate.check(req(volume=30), context), "max_funds_share", "100,500 CNY")
    close = req(volume=30, direction=Direction.SHORT, offset=Offset.CLOSE)
    assert_allowed(gate.check(close, replace(context, long_volume=30)))
    assert_denied(gate.check(req(volume=1), ctx(available=0)), "max_funds_share",
                  "available funds 0 CNY")


def test_position_limit_is_gross_counts_working_opens_and_never_blocks_a_close():
    gate = make_gate(max_position=10)
    # Long 5 and short 5 is flat net, but 10 lots gross: no more opening either way.
    locked = ctx(long_volume=5, short_volume=5)
    assert_denied(gate.check(req(volume=1), locked), "max_position", "reach 11 lots")
    assert_denied(gate.check(req(volume=1, direction=Direction.SHORT), locked), "max_position")
    assert_denied(gate.check(req(volume=3), ctx(long_volume=4, pending_open=4)), "max_position",
                  "reach 11 lots")
    close = req(volume=5, direction=Direction.SHORT, offset=Offset.CLOSETODAY)
    assert_allowed(gate.check(close, locked))


def test_band_passes_priced_orders_without_a_quote_and_checks_stop_orders():
    gate = make_gate()
    assert_allowed(gate.check(req(price=9999.0), ctx(last_price=None)))
    assert_denied(gate.check(req(type=OrderType.STOP, price=3500.0), ctx()), "price_band",
                  "7.692% above")


def test_market_order_is_valued_at_the_last_price():
    gate = make_gate(max_order_notional=100_000)
    market = req(type=OrderType.MARKET, price=0.0, volume=4)
    # 4 lots x 3250 x 10 = 130,000 CNY.
    assert_denied(gate.check(market, ctx()), "max_order_notional", "130,000 CNY", "100,000 CNY")
    assert_allowed(gate.check(replace(market, volume=3), ctx()))
    assert_denied(gate.check(market, ctx(last_price=0.0)), "reference_price")


# ---- global limits and per-symbol overrides --------------------------------------------------
def test_per_symbol_override_applies_to_that_symbol_only():
    gate = make_gate(symbols={"IF2612.CFFEX": {"max_order_volume": 2, "max_order_notional": 0}})
    assert gate.limits_for("IF2612.CFFEX").max_order_volume == 2
    assert gate.limits_for("IF2612.CFFEX").price_band == 0.05  # the rest is global
    assert gate.limits_for("rb2701.SHFE") is gate.config.global_limits
    big_if = req(symbol="IF2612", exchange=Exchange.CFFEX, price=4100.0, volume=3)
    assert_denied(gate.check(big_if, ctx(big_if, last_price=4100.0)), "max_order_volume",
                  "volume 3", "maximum of 2 lots")
    assert_allowed(gate.check(req(volume=3), ctx()))


def test_override_can_loosen_a_global_limit():
    gate = make_gate(max_order_volume=5, symbols={"rb2701.SHFE": {"max_order_volume": 20}})
    assert_allowed(gate.check(req(volume=20), ctx()))
    if_req = req(symbol="IF2612", exchange=Exchange.CFFEX, price=4100.0, volume=6)
    assert_denied(gate.check(if_req, ctx(if_req, last_price=4100.0)), "max_order_volume",
                  "maximum of 5 lots")


def test_set_config_replaces_the_cached_limits():
    gate = make_gate()
    assert_allowed(gate.check(req(volume=10), ctx()))
    gate.set_config(RiskConfig(symbols={"rb2701.SHFE": {"max_order_volume": 5}}))
    assert_denied(gate.check(req(volume=10), ctx()), "max_order_volume")


def test_disabled_rules_pass():
    clock = FakeClock()
    gate = make_gate(clock=clock, max_order_volume=0, max_order_notional=0, max_funds_share=0,
                     max_position=0, max_working_orders=0, max_orders_per_second=0,
                     max_cancels_per_day=0, price_band=0, duplicate_seconds=0,
                     contract_limits=False, self_trade=False, max_actions_per_second=0,
                     max_actions_per_day=0)
    huge = req(volume=100_000, price=99_999.5)  # off the tick, over the exchange maximum
    context = ctx(available=0, long_volume=10_000, working_orders=10_000,
                  resting=RestingOrders())
    context.resting.put("SIM.1", Direction.SHORT, 1.0, 1)    # it would trade against this
    for _ in range(50):
        gate.record_sent(huge)
        gate.record_cancel("rb2701.SHFE")
    assert_allowed(gate.check(huge, context))
    # Nonsense stays denied even with every rule off.
    assert_denied(gate.check(req(volume=-1), context), "contract_volume")
    assert_denied(gate.check(req(price=float("nan")), context), "price_tick")


# ---- trading states --------------------------------------------------------------------------
def test_halted_denies_every_new_order():
    gate = make_gate(state=TradingState.HALTED)
    position = ctx(long_volume=10, short_volume=10)
    for order in (req(), req(direction=Direction.SHORT, offset=Offset.CLOSE, volume=1),
                  req(type=OrderType.MARKET, price=0.0), req(price=3250.5)):
        assert_denied(gate.check(order, position), "halted", "halted")
    gate.record_cancel("rb2701.SHFE")  # cancels are never blocked
    gate.set_state(TradingState.ACTIVE)
    assert gate.state is TradingState.ACTIVE
    assert_allowed(gate.check(req(), position))


def test_halted_lets_only_the_traders_own_close_through_within_the_position():
    gate = make_gate(state=TradingState.HALTED)
    long5 = ctx(long_volume=5, long_frozen=1)
    close = vouch(req(direction=Direction.SHORT, offset=Offset.CLOSETODAY, volume=4))
    assert_allowed(gate.check(close, long5))                  # Flatten / Close position
    # Not a close, or not the trader's: a strategy's exit, the ticket, one that only writes
    # the trader's reference on its own request.
    for order in (replace(close, offset=Offset.OPEN), replace(close, reference=""),
                  replace(close, reference="CtaStrategy_macd"),
                  req(direction=Direction.SHORT, offset=Offset.CLOSETODAY, volume=4,
                      reference=TRADER_CLOSE)):
        assert_denied(gate.check(order, long5), "halted", "Flatten and Close still work")
    # The other rules still apply to it (a fat finger in a close is still one).
    assert_denied(gate.check(vouch(replace(close, price=3900.0)), long5), "price_band")


def test_the_traders_close_never_opens_in_any_state():
    """On a net gateway the lots beyond the position would open the other way."""
    for state in TradingState:
        gate = make_gate(state=state)
        long5 = ctx(long_volume=5, long_frozen=1)
        for close in (vouch(req(direction=Direction.SHORT, offset=Offset.CLOSE, volume=5)),
                      vouch(req(direction=Direction.LONG, offset=Offset.NONE, volume=1))):
            assert_denied(gate.check(close, long5), "close_exceeds_position",
                          "the trader's close of")
        assert_denied(gate.check(vouch(req(direction=Direction.SHORT, offset=Offset.CLOSE,
                                           volume=5)), long5), "close_exceeds_position",
                      "exceeds the 4 long lots free to close in rb2701.SHFE")


def test_reduce_only_allows_a_close_within_the_position_only():
    gate = make_gate(state=TradingState.REDUCE_ONLY)
    long5 = ctx(long_volume=5)
    sell_close = req(direction=Direction.SHORT, offset=Offset.CLOSE, volume=5)
    assert_allowed(gate.check(sell_close, long5))
    assert_allowed(gate.check(replace(sell_close, offset=Offset.CLOSEYESTERDAY, volume=2),
                              long5))
    assert_denied(gate.check(req(offset=Offset.OPEN, volume=1), long5), "reduce_only",
                  "opening orders are blocked")
    assert_denied(gate.check(replace(sell_close, offset=Offset.OPEN), long5), "reduce_only",
                  "opening")
    assert_denied(gate.check(replace(sell_close, volume=6), long5), "reduce_only",
                  "closing 6 lots", "5 long lots")
    # Lots already held by working close orders are not free to close again.
    assert_denied(gate.check(sell_close, ctx(long_volume=5, long_frozen=3)), "reduce_only",
                  "the 2 long lots")
    # Buying to close needs a short position.
    assert_denied(gate.check(req(offset=Offset.CLOSE, volume=1), long5), "reduce_only",
                  "0 short lots")
    assert_allowed(gate.check(req(offset=Offset.CLOSE, volume=1), ctx(short_volume=1)))


def test_reduce_only_with_net_offset():
    gate = make_gate(state=TradingState.REDUCE_ONLY)
    sell = req(direction=Direction.SHORT, offset=Offset.NONE, volume=3)
    assert_allowed(gate.check(sell, ctx(long_volume=3)))
    assert_denied(gate.check(sell, ctx(long_volume=2)), "reduce_only",
                  "closing 3 lots exceeds the 2 long lots free")


def test_a_close_for_more_than_the_position_is_judged_as_an_opening_order():
    """On a net-position gateway the excess opens; the funds and position limits see it."""
    gate = make_gate(max_position=10)
    for offset in (Offset.CLOSE, Offset.CLOSETODAY, Offset.NONE):
        big = req(direction=Direction.LONG, offset=offset, volume=20)
        assert_denied(gate.check(big, ctx()), "max_position", "plus 20 would reach 20")
        assert_allowed(gate.check(replace(big, volume=10), ctx(short_volume=10)))


def test_the_traders_own_close_is_not_stopped_by_size_rate_or_count_limits():
    """After a loss these are what stands between the trader and flat: a 60-lot position over
    the 50-lot order limit, a second close of the same lots within the duplicate window,
    working orders and cancels at their limits, the rate used up."""
    clock = FakeClock()
    gate = make_gate(clock=clock, max_order_volume=50, max_order_notional=1_000_000.0,
                     max_working_orders=3, max_orders_per_second=2, max_cancels_per_day=1)
    close = vouch(req(direction=Direction.SHORT, offset=Offset.CLOSE, volume=60))
    position = ctx(long_volume=60, working_orders=3)
    for _ in range(3):
        gate.record_sent(close)
    gate.record_cancel("rb2701.SHFE")
    assert_allowed(gate.check(close, position))
    for state in (TradingState.REDUCE_ONLY, TradingState.HALTED):
        gate.set_state(state)
        assert_allowed(gate.check(close, position))
    gate.set_state(TradingState.ACTIVE)
    # The same order from anyone else, its reference included, meets every one of them.
    assert_denied(gate.check(replace(close), position), "max_order_volume")
    # Its price is still checked, and it must still be a close.
    assert_denied(gate.check(vouch(replace(close, price=3900.0)), position), "price_band")
    assert_denied(gate.check(vouch(replace(close, price=3250.5)), position), "price_tick")
    assert_denied(gate.check(close, ctx(long_volume=59, working_orders=3)),
                  "close_exceeds_position")


def test_state_is_checked_first_then_contract_limits():
    gate = make_gate(state=TradingState.HALTED)
    bad = req(price=3250.5, volume=1000)
    assert gate.check(bad, ctx()).rule == "halted"
    gate.set_state(TradingState.ACTIVE)
    assert gate.check(bad, ctx()).rule == "price_tick"
    assert gate.check(replace(bad, price=3250.0), ctx()).rule == "contract_volume"


# ---- counters: rate, cancels, duplicates -----------------------------------------------------
def test_order_rate_per_second_with_a_fake_clock():
    clock = FakeClock(100.0)
    gate = make_gate(clock=clock, max_orders_per_second=3)
    for i in range(3):
        order = req(price=3250.0 + i)
        assert_allowed(gate.check(order, ctx()))
        gate.record_sent(order)
        clock.now += 0.1
    clock.now = 100.5
    assert_denied(gate.check(req(price=3260.0), ctx()), "max_orders_per_second",
                  "3 orders were sent in the last second", "limit is 3 per second")
    clock.now = 101.05  # the first order (at 100.0) left the window
    assert_allowed(gate.check(req(price=3260.0), ctx()))
    assert gate.orders_last_second() == 2


def test_cancels_per_day_with_day_reset():
    clock = FakeClock(0.0)
    day = ["2026-03-02"]
    gate = make_gate(clock=clock, trading_day=lambda: day[0], max_cancels_per_day=2)
    gate.record_cancel("rb2701.SHFE")
    assert_allowed(gate.check(req(), ctx()))
    gate.record_cancel("rb2701.SHFE")
    assert gate.cancels_today("rb2701.SHFE") == 2
    assert_denied(gate.check(req(), ctx()), "max_cancels_per_day",
                  "2 cancels in rb2701.SHFE today", "limit of 2 per day")
    other = req(symbol="IF2612", exchange=Exchange.CFFEX, price=4100.0, volume=1)
    assert_allowed(gate.check(other, ctx(other, last_price=4100.0)))  # counted per symbol
    day[0] = "2026-03-03"
    clock.now += 0.5  # the day is looked at no more than once a second
    assert_denied(gate.check(req(), ctx()), "max_cancels_per_day")
    clock.now += 0.5
    assert_allowed(gate.check(req(), ctx()))
    assert gate.cancels_today("rb2701.SHFE") == 0


def test_new_trading_day_resets_cancels():
    gate = make_gate(max_cancels_per_day=1)
    gate.record_cancel("rb2701.SHFE")
    assert_denied(gate.check(req(), ctx()), "max_cancels_per_day")
    gate.new_trading_day()
    assert_allowed(gate.check(req(), ctx()))


def test_duplicate_within_the_window_is_denied():
    clock = FakeClock(50.0)
    gate = make_gate(clock=clock)
    order = req()
    gate.record_sent(order)
    clock.now = 50.4
    assert_denied(gate.check(req(), ctx()), "duplicate_order", "Long Open 2 rb2701.SHFE",
                  "at 3250", "0.40 s ago", "within 1 s")
    assert_allowed(gate.check(req(price=3251.0), ctx()))
    assert_allowed(gate.check(req(volume=3), ctx()))
    assert_allowed(gate.check(req(direction=Direction.SHORT), ctx()))
    clock.now = 51.0
    assert_allowed(gate.check(req(), ctx()))


def test_duplicate_memory_is_pruned():
    clock = FakeClock(0.0)
    gate = make_gate(clock=clock)
    for i in range(100):
        gate.record_sent(req(price=3000.0 + i))
        clock.now += 0.05
    assert len(gate._recent) <= 41


# ---- risk.json -------------------------------------------------------------------------------
def test_load_names_each_bad_value_and_uses_defaults(tmp_path):
    path = tmp_path / "risk.json"
    path.write_text(json.dumps({
        "state": "HALTED",
        "global": {"max_order_volume": "lots", "price_band": 2, "max_position": 10.5,
                   "max_working_orders": 7, "duplicate_seconds": None,
                   "contract_limits": "yes"},
        "symbols": {"IF2612.CFFEX": {"max_order_volume": -1, "max_order_notional": 2e6}},
        "monitors": {"daily_loss": "much"},
    }), encoding="utf-8")
    loaded = load(path)
    config, text = loaded.config, "\n".join(loaded.problems)
    for words in ["global.max_order_volume: expected a number, got 'lots'; using the default 50",
                  "global.price_band: 2 is outside 0..1", "using the default 0.05",
                  "global.max_position: expected a whole number, got 10.5",
                  "global.contract_limits: expected true or false",
                  "symbols.IF2612.CFFEX.max_order_volume: -1 is outside",
                  "using the global value 50",
                  "monitors.daily_loss: expected a number, got 'much'"]:
        assert words in text, (words, text)
    assert len(loaded.problems) == 6 and loaded.unusable == ""    # single values: usable
    assert config.state is TradingState.HALTED
    limits = config.global_limits
    assert (limits.max_order_volume, limits.price_band, limits.max_position) == (50, 0.05, 100)
    assert limits.max_working_orders == 7 and limits.duplicate_seconds == 0.0  # null = off
    assert config.symbols == {"IF2612.CFFEX": {"max_order_notional": 2e6}}
    assert config.limits_for("IF2612.CFFEX").max_order_volume == 50
    assert config.monitors.daily_loss == 50_000
    assert path.exists()  # a readable file with bad values is left alone


@pytest.mark.parametrize(("data", "why"), [
    ({"state": "HALT"}, "state: expected one of ACTIVE, REDUCE_ONLY, HALTED, got 'HALT'"),
    ({"state": None}, "state: expected one of"),
    ({"global": [5]}, "global: expected an object of limits, got list"),
    ({"symbols": "IF2612.CFFEX"}, "symbols: expected an object keyed by vt_symbol, got str"),
    ({"symbols": {"rb2701.SHFE": "all"}}, "symbols.rb2701.SHFE: expected an object of limits"),
    ({"monitors": 5}, "monitors: expected an object, got int"),
    ([1], "risk settings must be a JSON object, got list"),
    # A misspelt key or symbol: the limit it meant would be silently lost.
    ({"State": "HALTED"}, "State: not a risk setting (misspelt?)"),
    ({"global": {"max_order_vol": 5}}, "global.max_order_vol: not a risk limit"),
    ({"monitors": {"daily_los": 10}}, "monitors.daily_los: not a monitor setting"),
    ({"symbols": {"rb2701.shfe": {"max_order_volume": 1}}}, "symbols.rb2701.shfe: not a vt_sym"),
    ({"symbols": {"nonsense": {"max_order_volume": 1}}}, "symbols.nonsense: not a vt_symbol"),
    ({"review": "daily loss"}, "review: expected a list of reasons"),
])
def test_a_file_that_cannot_be_trusted_starts_reduce_only(tmp_path, data, why):
    path = tmp_path / "risk.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded = load(path)
    assert why in loaded.unusable
    assert loaded.config.state is TradingState.REDUCE_ONLY
    with pytest.raises(RiskConfigError):
        RiskConfig.from_dict(data)


def test_a_state_in_other_case_or_spacing_is_read():
    for raw in (" halted", "Reduce-Only", "reduce only"):
        assert parse({"state": raw}).unusable == ""
    assert parse({"state": " halted"}).config.state is TradingState.HALTED


def test_halted_stays_halted_when_another_part_cannot_be_read(tmp_path):
    path = tmp_path / "risk.json"
    path.write_text(json.dumps({"state": "HALTED", "global": {"max_order_volume": 3},
                                "monitors": []}), encoding="utf-8")
    loaded = load(path)
    assert loaded.config.state is TradingState.HALTED and "monitors" in loaded.unusable
    assert loaded.config.global_limits.max_order_volume == 3      # what could be read is kept


@pytest.mark.parametrize("content", ['{"state": "HALTED", "global": {"max_order_vol',
                                     "", "\x00\x01", "{not json"])
def test_a_truncated_or_corrupt_file_is_kept_aside_and_trading_starts_reduce_only(
        tmp_path, content):
    path = tmp_path / "risk.json"
    path.write_text(content, encoding="utf-8")
    loaded = load(path)
    assert loaded.config == RiskConfig(state=TradingState.REDUCE_ONLY)
    assert not path.exists()
    aside = list(tmp_path.glob("risk.json.broken-*"))
    assert len(aside) == 1 and aside[0].read_text(encoding="utf-8") == content
    assert "unreadable" in loaded.unusable and aside[0].name in loaded.unusable


def test_missing_file_gives_defaults_only_on_a_first_start(tmp_path):
    assert load(tmp_path / "risk.json") == LoadedRisk(RiskConfig())
    gone = load(tmp_path / "risk.json", expected=True)
    assert gone.config == RiskConfig(state=TradingState.REDUCE_ONLY)
    assert "risk.json is missing" in gone.unusable


def test_save_load_round_trip(tmp_path):
    path = tmp_path / "sub" / "risk.json"
    config = RiskConfig(
        TradingState.REDUCE_ONLY,
        RiskLimits(max_order_volume=10, price_band=0.02, contract_limits=False),
        {"IF2612.CFFEX": {"max_order_volume": 1, "duplicate_seconds": 2.5}},
    )
    save(path, config)
    assert load(path) == LoadedRisk(config)
    assert [p.name for p in path.parent.iterdir()] == ["risk.json"]  # no temporary left
    save(path, replace(config, state=TradingState.HALTED))
    assert load(path).config.state is TradingState.HALTED


def test_to_dict_from_dict():
    config = RiskConfig(TradingState.HALTED, RiskLimits(max_cancels_per_day=300),
                        {"rb2701.SHFE": {"price_band": 0.03}})
    data = config.to_dict()
    assert data["state"] == "HALTED" and data["global"]["max_cancels_per_day"] == 300
    assert RiskConfig.from_dict(json.loads(json.dumps(data))) == config
    with pytest.raises(RiskConfigError) as raised:
        RiskConfig.from_dict({"global": {"max_funds_share": 5, "price_band": "x"}})
    assert len(raised.value.problems) == 2
    assert "global.max_funds_share: 5 is outside 0..1" in str(raised.value)
    assert parse([1]).unusable == "risk settings must be a JSON object, got list"
    with pytest.raises(RiskConfigError):
        RiskConfig(symbols={"rb2701.SHFE": {"max_lots": 3}})
