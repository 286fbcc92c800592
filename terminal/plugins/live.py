"""Live strategies: vnpy_ctastrategy's `CtaEngine` on the connected gateways, with the
terminal's strategy plugins and two changes.

- Strategy classes come from the terminal's plugin catalog (the shipped `plugins/`, the user's
  plugin folder, vnpy_ctastrategy's bundled ones) instead of a `strategies` folder in the
  working directory, and one at a time: a class is imported when a strategy of it is added
  (or restored from vn.py's settings at the start), and only if its file passed its check
  (`terminal.plugins`). A strategy whose class cannot be had is not added; the reason goes
  to its log and a severe alert. The class list and default parameters vn.py's engine
  offers come from the catalog's listing, which imports nothing.
- A strategy that raises is stopped (as vn.py does) and also reported as a severe alert, so
  the trader sees it at once; the terminal and the other strategies keep running.

History for `load_bar` comes from the market store, which is vn.py's database inside the
terminal. Every order a strategy sends meets the risk gate, which sits on the gateways
(`terminal.risk.guard`): through `CtaEngine`, `MainEngine.send_order` or the gateway itself.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from vnpy.event import Event, EventEngine
from vnpy.trader.engine import MainEngine
from vnpy_ctastrategy.engine import CtaEngine
from vnpy_ctastrategy.template import CtaTemplate

from terminal.core.alerts import EVENT_ALERT, SEVERE, Alert
from terminal.core.timezone import CHINA_TZ
from terminal.plugins.loader import PluginError, StrategyCatalog

log = logging.getLogger(__name__)


class TerminalCtaEngine(CtaEngine):
    def __init__(self, main_engine: MainEngine, event_engine: EventEngine,
                 catalog: StrategyCatalog) -> None:
        super().__init__(main_engine, event_engine)
        self.catalog = catalog
        self.failures = 0

    def load_strategy_class(self) -> None:
        """Nothing is imported at the start: `add_strategy` takes each class as needed."""

    def add_strategy(self, class_name: str, strategy_name: str, vt_symbol: str,
                     setting: dict) -> None:
        """vn.py's, with the class taken from the catalog first (its file imported here if it
        passed its check; a changed file checked again)."""
        if strategy_name not in self.strategies:          # vn.py refuses a taken name itself
            try:
                self.classes[class_name] = self.catalog.load(class_name)
            except PluginError as exc:
                self.classes.pop(class_name, None)
                self._refused(strategy_name, vt_symbol, str(exc))
                return
        super().add_strategy(class_name, strategy_name, vt_symbol, setting)

    def get_all_strategy_class_names(self) -> list:
        return self.catalog.names()

    def get_strategy_class_parameters(self, class_name: str) -> dict:
        return dict(self.catalog.get(class_name).parameters)

    def _refused(self, strategy_name: str, vt_symbol: str, reason: str) -> None:
        self.write_log(f"strategy {strategy_name} not added: {reason}")
        log.error("strategy %s not added: %s", strategy_name, reason)
        self.event_engine.put(Event(EVENT_ALERT, Alert(
            datetime.now(CHINA_TZ), SEVERE, "strategy_not_loaded", vt_symbol,
            f"strategy {strategy_name} not added: {reason}")))

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


def start_engine(main_engine: MainEngine, catalog: StrategyCatalog) -> TerminalCtaEngine:
    """Add the CTA engine to the main engine and initialise it (restoring the strategies
    added in earlier sessions from vn.py's settings file in the data directory: their classes
    are the only plugins imported at the start)."""
    # MainEngine.add_engine makes the engine as `engine_class(main_engine, event_engine)`.
    engine_class = functools.partial(TerminalCtaEngine, catalog=catalog)
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
