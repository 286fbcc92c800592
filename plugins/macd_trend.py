"""MACD trend follower, shipped with the trading terminal as a strategy plugin."""

from typing import ClassVar

from vnpy.trader.constant import Offset
from vnpy_ctastrategy import (
    ArrayManager,
    BarData,
    BarGenerator,
    CtaTemplate,
    OrderData,
    StopOrder,
    TickData,
    TradeData,
)


class MacdTrendStrategy(CtaTemplate):
    """Follow the trend when the MACD line crosses its signal line; exit on the opposite
    cross or at an ATR stop.

    One-minute bars are gathered into bars of `bar_minutes` minutes (a number that divides
    60). On each of them the MACD line (EMA `fast_period` minus EMA `slow_period` of the
    close) is compared with its signal line (EMA `signal_period` of the MACD line):

    - when the MACD line crosses above the signal line the strategy buys `fixed_size` lots,
      when it crosses below it sells short; an opposite cross closes the position and opens
      the other way (it stays in the market while the trend keeps turning);
    - every position is protected by a stop order `stop_atr` times the ATR (`atr_period`
      bars, taken when the position was opened) away. With `trailing_stop` the stop follows
      the best price since the entry (highest high of a long, lowest low of a short); without
      it the stop stays where it was put at the entry price.

    Orders are limit orders `order_ticks` price ticks through the last close, so they fill on
    the next bar unless the market jumps away. The defaults (5-minute bars, 12/26/9) suit
    liquid China futures such as rebar; longer bars or periods trade less.
    """

    author = "Trading Terminal"

    bar_minutes: int = 5
    fast_period: int = 12
    slow_period: int = 26
    signal_period: int = 9
    atr_period: int = 14
    stop_atr: float = 3.0
    trailing_stop: bool = True
    fixed_size: int = 1
    order_ticks: int = 2

    macd_value: float = 0.0
    signal_value: float = 0.0
    histogram: float = 0.0
    atr_value: float = 0.0
    entry_price: float = 0.0
    entry_atr: float = 0.0
    best_price: float = 0.0
    stop_price: float = 0.0

    parameters: ClassVar[list[str]] = [
        "bar_minutes", "fast_period", "slow_period", "signal_period", "atr_period", "stop_atr",
        "trailing_stop", "fixed_size", "order_ticks",
    ]
    variables: ClassVar[list[str]] = [
        "macd_value", "signal_value", "histogram", "atr_value", "entry_price", "entry_atr",
        "best_price", "stop_price",
    ]

    def on_init(self) -> None:
        self.write_log("strategy initialising")
        self.bg = BarGenerator(self.on_bar, max(1, int(self.bar_minutes)), self.on_signal_bar)
        history = max(self.slow_period + self.signal_period, self.atr_period + 1)
        self.am = ArrayManager(history + 10)
        self.load_bar(10)

    def on_start(self) -> None:
        self.write_log("strategy started")

    def on_stop(self) -> None:
        self.write_log("strategy stopped")

    def on_tick(self, tick: TickData) -> None:
        self.bg.update_tick(tick)

    def on_bar(self, bar: BarData) -> None:
        self.bg.update_bar(bar)

    def on_signal_bar(self, bar: BarData) -> None:
        self.cancel_all()
        am = self.am
        am.update_bar(bar)
        if not am.inited:
            return

        macd, signal, histogram = am.macd(self.fast_period, self.slow_period,
                                          self.signal_period, array=True)
        self.macd_value = float(macd[-1])
        self.signal_value = float(signal[-1])
        self.histogram = float(histogram[-1])
        self.atr_value = float(am.atr(self.atr_period))
        crossed_up = histogram[-2] <= 0 < histogram[-1]
        crossed_down = histogram[-2] >= 0 > histogram[-1]
        through = self.order_ticks * self.tick_size()

        if self.pos == 0:
            if crossed_up:
                self.buy(bar.close_price + through, self.fixed_size)
            elif crossed_down:
                self.short(bar.close_price - through, self.fixed_size)
        elif self.pos > 0:
            self.best_price = max(self.best_price, bar.high_price)
            if crossed_down:
                self.sell(bar.close_price - through, abs(self.pos))
                self.short(bar.close_price - through, self.fixed_size)
            else:
                self.place_stop()
        else:
            self.best_price = min(self.best_price, bar.low_price)
            if crossed_up:
                self.cover(bar.close_price + through, abs(self.pos))
                self.buy(bar.close_price + through, self.fixed_size)
            else:
                self.place_stop()

        self.put_event()

    def on_trade(self, trade: TradeData) -> None:
        if trade.offset == Offset.OPEN:
            self.entry_price = trade.price
            self.best_price = trade.price
            self.entry_atr = self.atr_value if self.atr_value > 0 else self.tick_size()
            self.place_stop()        # protected at once, not only from the next signal bar
        self.put_event()

    def place_stop(self) -> None:
        """The protective stop order of the open position (none when flat)."""
        anchor = self.best_price if self.trailing_stop else self.entry_price
        if self.pos > 0:
            self.stop_price = anchor - self.stop_atr * self.entry_atr
            self.sell(self.stop_price, abs(self.pos), stop=True)
        elif self.pos < 0:
            self.stop_price = anchor + self.stop_atr * self.entry_atr
            self.cover(self.stop_price, abs(self.pos), stop=True)

    def on_order(self, order: OrderData) -> None:
        pass

    def on_stop_order(self, stop_order: StopOrder) -> None:
        pass

    def tick_size(self) -> float:
        """The contract's price tick (1 when the engine does not know it)."""
        return self.get_pricetick() or 1
