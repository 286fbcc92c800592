"""Exchange conduct rules in the gate: self-trade prevention against the account's own resting
limit orders, orders + cancels counted per account per second and per day with a warning
before each limit, and their settings in risk.json (defaults from the published thresholds)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from vnpy.trader.constant import Direction, Offset, OrderType

from terminal.core.orders import vouch
from terminal.risk import RiskConfig, RiskConfigError, RiskGate, RiskLimits, load, parse, save
from terminal.risk.limits import (ACCOUNT_WIDE, CONDUCT_DEFAULTS, CONDUCT_MARGINS,
                                  CONDUCT_THRESHOLDS, LIMIT_SPECS)
from terminal.risk.resting import RestingOrders
from tests.helpers.risk_gate import FakeClock, assert_allowed, assert_denied, ctx, req


def gate_with(clock=None, trading_day=None, symbols=None, **limits) -> RiskGate:
    kwargs = {"trading_day": trading_day} if trading_day is not None else {}
    return RiskGate(RiskConfig(global_limits=RiskLimits(**limits), symbols=symbols or {}),
                    clock=clock or FakeClock(), **kwargs)


def book(*orders: tuple[str, Direction, float, float]) -> RestingOrders:
    resting = RestingOrders()
    for vt_orderid, direction, price, volume in orders:
        resting.put(vt_orderid, direction, price, volume)
    return resting


BUY, SELL = Direction.LONG, Direction.SHORT


# ---- self-trade prevention -------------------------------------------------------------------
def test_a_buy_at_or_above_the_accounts_own_resting_sell_is_denied_naming_it():
    gate = gate_with()
    resting = book(("SIM.7", SELL, 3260.0, 2), ("SIM.8", SELL, 3270.0, 1))
    for price in (3260.0, 3265.0):                          # equal price crosses too
        decision = gate.check(req(price=price), ctx(resting=resting))
        assert_denied(decision, "self_trade", f"a buy at {price:g}",
                      "own resting sell 2 @ 3260 (SIM.7)", "rb2701.SHFE")
        assert decision.orders == ("SIM.7",)
    decision = gate.check(req(price=3270.0), ctx(resting=resting))
    assert decision.orders == ("SIM.7", "SIM.8")            # best first: every one it crosses
    assert "and 1 more" in decision.reason
    assert_allowed(gate.check(req(price=3259.0), ctx(resting=resting)))


def test_a_sell_at_or_below_the_accounts_own_resting_buy_is_denied():
    gate = gate_with()
    resting = book(("SIM.1", BUY, 3240.0, 1), ("SIM.2", BUY, 3245.0, 3),
                   ("SIM.3", BUY, 3245.0, 1))
    sell = req(direction=SELL, price=3245.0)
    decision = gate.check(sell, ctx(resting=resting))
    assert_denied(decision, "self_trade", "a sell at 3245", "own resting buy 3 @ 3245 (SIM.2)",
                  "and 1 more")
    assert decision.orders == ("SIM.2", "SIM.3")            # one price, in sending order
    assert gate.check(replace(sell, price=3240.0), ctx(resting=resting)).orders == \
        ("SIM.2", "SIM.3", "SIM.1")
    assert_allowed(gate.check(replace(sell, price=3246.0), ctx(resting=resting)))
    # Own orders on the same side are no self-trade.
    assert_allowed(gate.check(req(price=3245.0), ctx(resting=resting)))


def test_a_market_order_crosses_any_own_order_on_the_other_side():
    gate = gate_with()
    resting = book(("SIM.1", SELL, 9999.0, 1))
    market = req(type=OrderType.MARKET, price=0.0)
    assert_denied(gate.check(market, ctx(resting=resting)), "self_trade", "a market buy",
                  "sell 1 @ 9999 (SIM.1)")
    assert_allowed(gate.check(replace(market, direction=SELL), ctx(resting=resting)))


def test_fak_and_fok_trade_on_arrival_so_they_are_checked_and_a_stop_is_not():
    gate = gate_with()
    resting = book(("SIM.1", SELL, 3250.0, 1))
    for kind in (OrderType.FAK, OrderType.FOK, OrderType.LIMIT):
        assert_denied(gate.check(req(type=kind), ctx(resting=resting)), "self_trade")
    # A stop held at the exchange is not on the book: nothing trades when it is sent.
    assert_allowed(gate.check(req(type=OrderType.STOP), ctx(resting=resting)))


def test_the_traders_own_close_is_not_exempt_from_self_trade():
    gate = gate_with()
    resting = book(("SIM.4", BUY, 3250.0, 1))              # a resting buy below a long
    close = vouch(req(direction=SELL, offset=Offset.CLOSE, volume=2, price=3250.0))
    assert_denied(gate.check(close, ctx(long_volume=2, resting=resting)), "self_trade",
                  "SIM.4")


def test_self_trade_can_be_switched_off_per_symbol_and_an_empty_book_passes():
    resting = book(("SIM.1", SELL, 3250.0, 1))
    gate = gate_with(symbols={"rb2701.SHFE": {"self_trade": False}})
    assert_allowed(gate.check(req(), ctx(resting=resting)))
    gate = gate_with()
    resting.remove("SIM.1")
    assert_allowed(gate.check(req(), ctx(resting=resting)))
    assert_allowed(gate.check(req(), ctx(resting=None)))


def test_the_resting_book_keeps_the_best_price_through_ties_updates_and_removals():
    resting = book(("a", BUY, 100.0, 1), ("b", BUY, 101.0, 1), ("c", BUY, 101.0, 2),
                   ("d", SELL, 103.0, 1), ("e", SELL, 102.0, 1))
    assert (resting.best_buy, resting.best_sell, len(resting)) == (101.0, 102.0, 5)
    resting.remove("b")
    assert resting.best_buy == 101.0                        # "c" still rests there
    resting.put("c", BUY, 101.0, 1)                         # partly filled: still resting
    assert resting.best_buy == 101.0 and resting.crossing(SELL, 101.0)[0].volume == 1
    resting.remove("c")
    assert resting.best_buy == 100.0
    resting.put("a", BUY, 99.0, 1)                          # moved: the old price is gone
    assert resting.best_buy == 99.0 and resting.crossing(SELL, 100.0) == []
    resting.remove("e")
    resting.remove("e")                                     # twice: no harm
    assert resting.best_sell == 103.0
    assert not resting.crosses(BUY, 102.9) and resting.crosses(BUY, 103.0)
    # Equal but for float rounding is equal.
    assert resting.crosses(BUY, 103.0 - 1e-12)
    resting.remove("d")
    resting.remove("a")
    assert (resting.best_buy, resting.best_sell, len(resting)) == (None, None, 0)
    assert not resting.crosses(BUY, None) and not resting.crosses(SELL, None)


# ---- orders + cancels per account ------------------------------------------------------------
def test_orders_and_cancels_count_together_per_account_and_deny_at_the_limit():
    clock = FakeClock(100.0)
    gate = gate_with(clock=clock, max_actions_per_second=4, max_orders_per_second=0,
                     duplicate_seconds=0)
    for i in range(2):
        gate.record_sent(req(price=3250.0 + i), "SIM")
        gate.record_cancel("rb2701.SHFE", "SIM")
    assert gate.actions_last_second("SIM") == 4
    assert_denied(gate.check(req(), ctx(account="SIM")), "max_actions_per_second",
                  "4 orders and cancels in the last second", "limit of 4 per second",
                  "cancels still pass")
    # Another account has its own count.
    assert_allowed(gate.check(req(), ctx(account="CTP")))
    # The trader's close is counted but not stopped: it must get out.
    close = vouch(req(direction=SELL, offset=Offset.CLOSE, volume=1))
    assert_allowed(gate.check(close, ctx(account="SIM", long_volume=1)))
    clock.now = 101.0                                       # the burst left the window
    assert_allowed(gate.check(req(), ctx(account="SIM")))
    assert gate.actions_last_second("SIM") == 0


def test_cancels_are_never_blocked_but_count_towards_the_day():
    clock = FakeClock(0.0)
    day = ["2026-03-02"]
    gate = gate_with(clock=clock, trading_day=lambda: day[0], max_actions_per_day=5,
                     max_actions_per_second=0, max_cancels_per_day=0)
    for _ in range(7):                                      # past the limit: still counted
        gate.record_cancel("rb2701.SHFE", "SIM")
        clock.now += 2.0
    assert gate.actions_today("SIM") == 7
    assert_denied(gate.check(req(), ctx(account="SIM")), "max_actions_per_day",
                  "7 orders and cancels today", "limit of 5 per trading day")
    day[0] = "2026-03-03"                                   # the day rolls over
    clock.now += 1.0
    assert_allowed(gate.check(req(), ctx(account="SIM")))
    assert gate.actions_today("SIM") == 0
    gate.record_sent(req(), "SIM")
    gate.new_trading_day()
    assert gate.actions_today("SIM") == 0


def test_a_warning_comes_once_per_crossing_not_once_per_order():
    clock = FakeClock(0.0)
    gate = gate_with(clock=clock, max_actions_per_second=10, max_actions_per_day=0,
                     max_orders_per_second=0, duplicate_seconds=0, max_cancels_per_day=0)
    warned = []
    for i in range(9):                                      # 8 of 10 is the 0.8 share
        warned.append(gate.record_sent(req(price=3000.0 + i), "SIM"))
        clock.now += 0.01
    assert [len(w) for w in warned] == [0] * 7 + [1, 0]
    (warning,) = warned[7]
    assert warning.rule == "actions_per_second_warning" and warning.vt_symbol == ""
    assert "account SIM: 8 orders and cancels within one second" in warning.message
    assert "80% of the limit of 10" in warning.message
    # The count hovers at the level: no warning per order while the burst goes on.
    for i in range(20):
        clock.now += 0.125
        assert gate.record_sent(req(price=3100.0 + i), "SIM") == ()
    # Quiet for a second: the count falls back, and the next burst warns again.
    clock.now += 1.5
    again = [gate.record_cancel("rb2701.SHFE", "SIM") for _ in range(8)]
    assert [len(w) for w in again] == [0] * 7 + [1]
    # The other account is counted and warned on its own.
    assert [len(gate.record_sent(req(price=3300.0 + i), "CTP")) for i in range(8)] == \
        [0] * 7 + [1]


def test_day_warnings_come_once_a_day_and_again_after_the_rollover():
    clock = FakeClock(0.0)
    day = ["2026-03-02"]
    gate = gate_with(clock=clock, trading_day=lambda: day[0], max_actions_per_second=0,
                     max_actions_per_day=10, max_cancels_per_day=5, conduct_warning_share=0.6,
                     max_orders_per_second=0, duplicate_seconds=0)
    rules = []
    for _ in range(9):
        rules += [w.rule for w in gate.record_cancel("rb2701.SHFE", "SIM")]
        clock.now += 0.3
    # 3 of 5 cancels in rb2701 (60%), then 6 of 10 actions: once each.
    assert rules == ["cancels_per_day_warning", "actions_per_day_warning"]
    (cancels,) = (gate.record_cancel("IF2612.CFFEX", "SIM")
                  + gate.record_cancel("IF2612.CFFEX", "SIM")
                  + gate.record_cancel("IF2612.CFFEX", "SIM"))
    assert cancels.vt_symbol == "IF2612.CFFEX" and "3 cancels in IF2612.CFFEX today" in \
        cancels.message and "limit of 5 per day" in cancels.message
    day[0] = "2026-03-03"
    clock.now += 1.0
    rules = []
    for _ in range(6):
        rules += [w.rule for w in gate.record_cancel("rb2701.SHFE", "SIM")]
    assert rules == ["cancels_per_day_warning", "actions_per_day_warning"]


def test_no_warning_with_the_share_off():
    gate = gate_with(max_actions_per_second=2, conduct_warning_share=0)
    assert gate.record_sent(req(), "SIM") == () and gate.record_sent(req(), "SIM") == ()


# ---- risk.json -------------------------------------------------------------------------------
def test_defaults_are_the_published_thresholds_less_the_chosen_margin():
    limits = RiskLimits()
    assert CONDUCT_THRESHOLDS == {"max_actions_per_second": 10, "max_actions_per_day": 20_000,
                                  "max_cancels_per_day": 400}
    assert CONDUCT_MARGINS == {"max_actions_per_second": 1, "max_actions_per_day": 1_000,
                               "max_cancels_per_day": 60}
    assert (limits.max_actions_per_second, limits.max_actions_per_day,
            limits.max_cancels_per_day) == (9, 19_000, 340)
    for key, threshold in CONDUCT_THRESHOLDS.items():
        assert getattr(limits, key) == CONDUCT_DEFAULTS[key] == threshold - CONDUCT_MARGINS[key]
        assert getattr(limits, key) < threshold
    # Cancels pass the limit: with every working order cancelled after it, still below.
    assert limits.max_cancels_per_day + limits.max_working_orders < 400
    assert limits.self_trade is True and limits.conduct_warning_share == 0.8


def test_the_new_keys_round_trip_through_risk_json(tmp_path):
    path = tmp_path / "risk.json"
    config = RiskConfig(global_limits=RiskLimits(max_actions_per_second=5,
                                                 max_actions_per_day=1234,
                                                 conduct_warning_share=0.5, self_trade=False),
                        symbols={"IF2612.CFFEX": {"self_trade": True,
                                                  "max_cancels_per_day": 300}})
    save(path, config)
    written = json.loads(path.read_text(encoding="utf-8"))["global"]
    assert (written["max_actions_per_second"], written["max_actions_per_day"],
            written["conduct_warning_share"], written["self_trade"]) == (5, 1234, 0.5, False)
    assert load(path).config == config
    assert RiskConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("key", sorted(ACCOUNT_WIDE))
def test_an_account_wide_limit_per_symbol_is_refused_clearly(tmp_path, key):
    value = LIMIT_SPECS[key].default
    data = {"global": {key: value}, "symbols": {"rb2701.SHFE": {key: value,
                                                               "max_order_volume": 7}}}
    loaded = parse(data)
    (problem,) = loaded.problems
    assert problem.startswith(f"symbols.rb2701.SHFE.{key}: counts the whole account's "
                              "orders and cancels, so it has no per-symbol value; set it "
                              "under global; using the global value")
    assert loaded.config.symbols == {"rb2701.SHFE": {"max_order_volume": 7}}
    with pytest.raises(RiskConfigError, match="no per-symbol value"):
        RiskConfig.from_dict(data)
    with pytest.raises(RiskConfigError, match=f"symbols.rb2701.SHFE.{key}: counts the whole"):
        RiskConfig(symbols={"rb2701.SHFE": {key: value}})


def test_bad_conduct_values_are_named_and_take_their_defaults():
    loaded = parse({"global": {"max_actions_per_second": -1, "max_actions_per_day": "many",
                               "conduct_warning_share": 1.5, "self_trade": "on"}})
    text = "\n".join(loaded.problems)
    for words in ("global.max_actions_per_second: -1 is outside 0..100000",
                  "global.max_actions_per_day: expected a number, got 'many'",
                  "global.conduct_warning_share: 1.5 is outside 0..1",
                  "global.self_trade: expected true or false, got 'on'"):
        assert words in text, text
    assert loaded.config.global_limits == RiskLimits() and loaded.unusable == ""
    assert parse({"global": {"max_actions_per_secnd": 5}}).unusable      # misspelt: unusable


def test_the_gate_reads_account_wide_limits_from_the_global_section_only():
    """Even a per-symbol value slipped past the loader (the dict is mutable) does not loosen
    the account's count."""
    config = RiskConfig(global_limits=RiskLimits(max_actions_per_second=1),
                        symbols={"rb2701.SHFE": {"max_order_volume": 3}})
    config.symbols["rb2701.SHFE"]["max_actions_per_second"] = 100
    gate = RiskGate(config, clock=FakeClock())
    assert gate.limits_for("rb2701.SHFE").max_actions_per_second == 100
    gate.record_sent(req(), "SIM")
    assert_denied(gate.check(req(price=3251.0), ctx(account="SIM")), "max_actions_per_second",
                  "limit of 1 per second")


def test_every_conduct_field_names_its_source_or_scope_in_its_help():
    assert "exchanges" in LIMIT_SPECS["max_cancels_per_day"].help
    assert "program-trading rules (2025)" in LIMIT_SPECS["max_actions_per_second"].help
    assert "no futures figure was verified" in LIMIT_SPECS["max_actions_per_day"].help
    for key in ACCOUNT_WIDE:
        assert "Account-wide: set under global only." in LIMIT_SPECS[key].help
