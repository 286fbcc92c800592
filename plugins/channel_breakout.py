"""Donchian channel breakout, shipped with the trading terminal as a strategy plugin."""

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


class ChannelBreakoutStrategy(CtaTemplate):
    """Trade breakouts of the recent range: enter when the price leaves the Donchian channel
    of the last `entry_period` bars, exit through the narrower channel of `exit_period` bars
    or at an ATR stop, whichever is nearer.

    One-minute bars are gathered into bars of `bar_minutes` minutes (a number that divides
    60). While flat, two stop orders wait at the edges of the entry channel: a buy stop one
    tick above its high and a sell-short stop one tick below its low, so the strategy enters
    the moment the range breaks (on any one-minute bar, not only at the end of a signal bar).

    An open position is protected by one stop order at the nearer of
    - the opposite edge of the exit channel (lowest low of the last `exit_period` bars for a
      long, highest high for a short), which trails as new bars come in, and
    - `stop_atr` times the ATR (`atr_period` bars, taken at the entry) from the entry price.

    A breakout that comes on the bar after an exit is taken again, as the channel rule says.
    The defaults (5-minute bars, 20/10 bars) follow the classic 20/10 channel rule scaled to
    intraday China futures.
    """

    author = "Trading Terminal"

    bar_minutes: int = 5
    entry_period: int = 20
    exit_period: int = 10
    atr_period: int = 14
    stop_atr: float = 2.0
    fixed_size: int = 1

    entry_high: float = 0.0
    entry_low: float = 0.0
    exit_high: float = 0.0
    exit_low: float = 0.0
    atr_value: float = 0.0
    entry_price: float = 0.0
    entry_atr: float = 0.0
    stop_price: float = 0.0

    parameters: ClassVar[list[str]] = [
        "bar_minutes", "entry_period", "exit_period", "atr_period", "stop_atr", "fixed_size",
    ]
    variables: ClassVar[list[str]] = [
        "entry_high", "entry_low", "exit_high", "exit_low", "atr_value", "entry_price", "entry_atr",
        "stop_price",
    ]

    def on_init(self) -> None:
        self.write_log("strategy initialising")
        self.bg = BarGenerator(self.on_bar, max(1, int(self.bar_minutes)), self.on_signal_bar)
        history = max(self.entry_period, self.exit_period, self.atr_period + 1)
        self.am = ArrayManager(history + 5)
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

        self.entry_high, self.entry_low = (float(v) for v in am.donchian(self.entry_period))
        self.exit_high, self.exit_low = (float(v) for v in am.donchian(self.exit_period))
        self.atr_value = float(am.atr(self.atr_period))
        tick = self.tick_size()

        if self.pos == 0:
            self.buy(self.entry_high + tick, self.fixed_size, stop=True)
            self.short(self.entry_low - tick, self.fixed_size, stop=True)
        else:
            self.place_stop()

        self.put_event()

    def on_trade(self, trade: TradeData) -> None:
        if trade.offset == Offset.OPEN:
            self.entry_price = trade.price
            self.entry_atr = self.atr_value if self.atr_value > 0 else self.tick_size()
            self.cancel_all()        # the other side's entry stop
            self.place_stop()        # protected at once, not only from the next signal bar
        self.put_event()

    def place_stop(self) -> None:
        """The protective stop order of the open position (none when flat): the nearer of
        the exit channel's far edge and the ATR stop."""
        if self.pos > 0:
            self.stop_price = max(self.exit_low, self.entry_price - self.stop_atr * self.entry_atr)
            self.sell(self.stop_price, abs(self.pos), stop=True)
        elif self.pos < 0:
            self.stop_price = min(self.exit_high, self.entry_price + self.stop_atr * self.entry_atr)
            self.cover(self.stop_price, abs(self.pos), stop=True)

    def on_order(self, order: OrderData) -> None:
        pass

    def on_stop_order(self, stop_order: StopOrder) -> None:
        pass

    def tick_size(self) -> float:
        """The contract's price tick (1 when the engine does not know it)."""
        return self.get_pricetick() or 1
