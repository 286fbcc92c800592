"""Live strategies: vnpy_ctastrategy's `CtaEngine` on the connected gateways, with the
terminal's strategy plugins and two changes.

- Strategy classes come from the terminal's plugin catalog (the shipped `plugins/`, the user's
  plugin folder, vnpy_ctastrategy's bundled ones) instead of a `strategies` folder in the
  working directory.
- A strategy that raises is stopped (as vn.py does) and also reported as a severe alert, so
  the trader sees it at once; the terminal and the other strategies keep running.

History for `load_bar` comes from the market store, which is vn.py's database inside the
terminal. Orders go through `MainEngine.send_order`, so through the risk gate.
"""

from __future__ import annotations

import contextlib
import io
import logging
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from vnpy.event import Event, EventEngine
from vnpy.trader.engine import MainEngine
from vnpy_ctastrategy.engine import CtaEngine
from vnpy_ctastrategy.template import CtaTemplate

from terminal.core.alerts import EVENT_ALERT, SEVERE, Alert

log = logging.getLogger(__name__)
CHINA_TZ = ZoneInfo("Asia/Shanghai")
ClassProvider = Callable[[], dict[str, type[CtaTemplate]]]


class TerminalCtaEngine(CtaEngine):
    classes_from: ClassProvider = staticmethod(dict)      # set before the engine is built

    def __init__(self, main_engine: MainEngine, event_engine: EventEngine) -> None:
        super().__init__(main_engine, event_engine)
        self.failures = 0

    def load_strategy_class(self) -> None:
        self.reload_classes()

    def reload_classes(self) -> None:
        """Take the catalog's current classes (changed plugin files re-imported)."""
        try:
            self.classes = dict(self.classes_from())
        except Exception:  # noqa: BLE001 - a broken catalog must not stop the engine
            log.exception("strategy classes could not be loaded")

    def call_strategy_func(self, strategy: CtaTemplate, func: Callable,
                           params: Any = None) -> None:
        try:
            if params:
                func(params)
            else:
                func()
        except Exception as exc:  # noqa: BLE001 - a strategy's bug stops that strategy only
            strategy.trading = False
            strategy.inited = False
            self.failures += 1
            text = traceback.format_exc()
            self.write_log(f"stopped after an error:\n{text}", strategy)
            log.error("strategy %s raised and was stopped:\n%s", strategy.strategy_name, text)
            self.event_engine.put(Event(EVENT_ALERT, Alert(
                datetime.now(CHINA_TZ), SEVERE, "strategy_error", strategy.vt_symbol,
                f"strategy {strategy.strategy_name} stopped: {type(exc).__name__}: {exc}")))
            self.put_strategy_event(strategy)


def start_engine(main_engine: MainEngine, classes: ClassProvider) -> TerminalCtaEngine:
    """Add the CTA engine to the main engine and initialise it (restoring the strategies
    added in earlier sessions from vn.py's settings file in the data directory)."""
    engine_class = type("TerminalCtaEngine", (TerminalCtaEngine,),
                        {"classes_from": staticmethod(classes)})
    # vn.py prints "The datafeed to be used is not configured..." to stdout when it looks for
    # a datafeed; the terminal's history is the store, so that goes to the log instead.
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        engine: TerminalCtaEngine = main_engine.add_engine(engine_class)
        engine.init_engine()
    for line in printed.getvalue().splitlines():
        if line.strip():
            log.info("vnpy_ctastrategy: %s", line.strip())
    return engine
