"""What every chart dock needs from the runtime, in one object handed to its constructor, so a
chart comes out of `ChartDock(services, ...)` finished: nothing is attached to it afterwards
(issue 17's rule). The window's `ChartDocks` builds it once (`for_runtime`); a test builds one
with a store and trading only (`minimal`), and the parts it leaves out are left off the chart
(no drawings, no alert lines, no Templates menu). No pyqtgraph here: the window imports this
at start, and the charts' module only when the first chart opens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from terminal.market.alert_book import PriceAlerts
    from terminal.market.chart_templates import ChartTemplates
    from terminal.market.drawings import Drawings
    from terminal.market.live_bars import LiveBars
    from terminal.orders import ManagedOrders, OrderTemplates
    from terminal.market.trading import Trading
    from terminal.services.chart_history import ChartSources
    from terminal.storage.market_store import MarketStore
    from terminal.system.runtime import Runtime


def _no_message(text: str) -> None:
    """Where a chart's status messages go when nothing shows them (tests)."""


@dataclass(frozen=True)
class ChartServices:
    store: MarketStore
    trading: Trading
    live: LiveBars                           # the live 1-minute bars built from every tick
    # Where a new chart's history comes from: one ChartSources per chart (it keeps its opened
    # datafeed), made with the datafeed settings as they are when the chart opens.
    sources: Callable[[], ChartSources]
    drawings: Drawings | None = None         # every symbol's; None: the chart draws none
    price_alerts: PriceAlerts | None = None  # None: no alert lines or bells
    templates: ChartTemplates | None = None  # None: no Indicators → Templates menu
    shortcuts: Callable[[], dict[str, str]] = dict    # settings.json's keys, as set now
    status: Callable[[str], None] = _no_message       # a short note for the status bar
    symbols: Callable[[], list[str]] = list           # offered in the symbol box
    managed: ManagedOrders | None = None     # None: order lines show and cancel, never move
    order_templates: OrderTemplates | None = None   # None: no Template choice on the chart

    @classmethod
    def minimal(cls, store: MarketStore, trading: Trading, live: LiveBars) -> ChartServices:
        """History from the store and the gateway only; no drawings, alerts or templates."""
        def sources() -> ChartSources:
            from terminal.services.chart_history import ChartSources

            return ChartSources(store, trading.main_engine)

        return cls(store, trading, live, sources)

    @classmethod
    def for_runtime(cls, runtime: Runtime, templates: ChartTemplates,
                    status: Callable[[str], None],
                    symbols: Callable[[], list[str]]) -> ChartServices:
        """The window's: every part from `runtime`; settings are read when used (the
        settings dialog changes the runtime's settings object in place)."""
        def sources() -> ChartSources:
            from terminal.services import datafeed
            from terminal.services.chart_history import ChartSources

            settings = runtime.settings
            return ChartSources(runtime.store, runtime.trading.main_engine,
                                datafeed.opener(settings.datafeed_name,
                                                settings.datafeed_username))

        return cls(runtime.store, runtime.trading, runtime.live_bars, sources,
                   drawings=runtime.drawings, price_alerts=runtime.price_alerts,
                   templates=templates, shortcuts=lambda: runtime.settings.shortcuts, status=status,
                   symbols=symbols, managed=runtime.managed,
                   order_templates=runtime.order_templates)
