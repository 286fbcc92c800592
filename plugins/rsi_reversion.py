"""RSI mean reversion, shipped with the trading terminal as a strategy plugin."""

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


class RsiReversionStrategy(CtaTemplate):
    """Fade stretched moves: buy when the RSI turns up out of the oversold zone, sell short
    when it turns down out of the overbought zone, and exit when it is back in the middle.

    One-minute bars are gathered into bars of `bar_minutes` minutes (1 trades on the
    one-minute bars themselves). On each bar the RSI over `rsi_period` bars is computed:

    - entry: long when the RSI was below `oversold` on the previous bar and is back at or
      above it now (the fall has stopped), short when it was above `overbought` and is back
      at or below it; `fixed_size` lots;
    - optional trend filter: with `trend_period` above 0, longs are taken only while the
      close is above its simple moving average over `trend_period` bars and shorts only
      below it (buying dips in an up-trend, selling rallies in a down-trend); 0 turns it off;
    - exit: a long is closed when the RSI reaches `exit_level` (the middle, 50), a short
      when it falls to `100 - exit_level`; after `max_bars` bars without that (0: no time
      limit); or at a stop order `stop_atr` times the ATR (`atr_period` bars at the entry)
      beyond the entry price.

    Orders are limit orders `order_ticks` price ticks through the last close. With the
    defaults the strategy trades a few times per session on liquid China futures.
    """

    author = "Trading Terminal"

    bar_minutes: int = 1
    rsi_period: int = 14
    oversold: float = 25.0
    overbought: float = 75.0
    exit_level: float = 50.0
    trend_period: int = 0
    atr_period: int = 14
    stop_atr: float = 4.0
    max_bars: int = 30
    fixed_size: int = 1
    order_ticks: int = 2

    rsi_value: float = 50.0
    trend_value: float = 0.0
    atr_value: float = 0.0
    entry_price: float = 0.0
    entry_atr: float = 0.0
    stop_price: float = 0.0
    bars_held: int = 0

    parameters: ClassVar[list[str]] = [
        "bar_minutes", "rsi_period", "oversold", "overbought", "exit_level", "trend_period",
        "atr_period", "stop_atr", "max_bars", "fixed_size", "order_ticks",
    ]
    variables: ClassVar[list[str]] = [
        "rsi_value", "trend_value", "atr_value", "entry_price", "entry_atr", "stop_price",
        "bars_held",
    ]

    def on_init(self) -> None:
        self.write_log("strategy initialising")
        self.bg = BarGenerator(self.on_bar, max(1, int(self.bar_minutes)), self.on_signal_bar)
        history = max(self.rsi_period + 2, self.atr_period + 1, self.trend_period)
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

        rsi = am.rsi(self.rsi_period, array=True)
        previous, self.rsi_value = float(rsi[-2]), float(rsi[-1])
        self.atr_value = float(am.atr(self.atr_period))
        self.trend_value = float(am.sma(self.trend_period)) if self.trend_period > 0 else 0.0
        through = self.order_ticks * self.tick_size()

        if self.pos == 0:
            long_allowed = self.trend_period <= 0 or bar.close_price > self.trend_value
            short_allowed = self.trend_period <= 0 or bar.close_price < self.trend_value
            if long_allowed and previous < self.oversold <= self.rsi_value:
                self.buy(bar.close_price + through, self.fixed_size)
            elif short_allowed and previous > self.overbought >= self.rsi_value:
                self.short(bar.close_price - through, self.fixed_size)
        else:
            self.bars_held += 1
            timed_out = 0 < self.max_bars <= self.bars_held
            if self.pos > 0:
                if self.rsi_value >= self.exit_level or timed_out:
                    self.sell(bar.close_price - through, abs(self.pos))
                else:
                    self.place_stop()
            elif self.rsi_value <= 100 - self.exit_level or timed_out:
                self.cover(bar.close_price + through, abs(self.pos))
            else:
                self.place_stop()

        self.put_event()

    def on_trade(self, trade: TradeData) -> None:
        if trade.offset == Offset.OPEN:
            self.entry_price = trade.price
            self.entry_atr = self.atr_value if self.atr_value > 0 else self.tick_size()
            self.bars_held = 0
            self.place_stop()        # protected at once, not only from the next signal bar
        self.put_event()

    def place_stop(self) -> None:
        """The protective stop order of the open position (none when flat)."""
        if self.pos > 0:
            self.stop_price = self.entry_price - self.stop_atr * self.entry_atr
            self.sell(self.stop_price, abs(self.pos), stop=True)
        elif self.pos < 0:
            self.stop_price = self.entry_price + self.stop_atr * self.entry_atr
            self.cover(self.stop_price, abs(self.pos), stop=True)

    def on_order(self, order: OrderData) -> None:
        pass

    def on_stop_order(self, stop_order: StopOrder) -> None:
        pass

    def tick_size(self) -> float:
        """The contract's price tick (1 when the engine does not know it)."""
        return self.get_pricetick() or 1
