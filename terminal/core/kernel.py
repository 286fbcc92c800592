"""The engine room: one object that owns vn.py's engines and the bridge, for live and tests alike.

Made by `terminal.system.runtime.build` after the data directory is prepared, because
importing vn.py before that would make it write to the user's home.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from vnpy.event import Event
from vnpy.trader.engine import MainEngine
from vnpy.trader.event import EVENT_LOG
from vnpy.trader.gateway import BaseGateway
from vnpy.trader.object import LogData

from terminal.core.bridge import EventBridge
from terminal.core.events import IsolatedEventEngine
from terminal.core.paths import DataPaths
from terminal.core.settings import Settings

log = logging.getLogger(__name__)


# Loggers whose failures reach the trader another way (as handler errors), not twice.
_REPORTED_ELSEWHERE = ("terminal.core.events", "terminal.ui.pump")


class EngineLogHandler(logging.Handler):
    """Warnings and errors from the terminal's own code, shown in the Log dock like vn.py's."""

    def __init__(self, event_engine) -> None:
        super().__init__(logging.WARNING)
        self._event_engine = event_engine

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_REPORTED_ELSEWHERE):
            return
        try:
            log_data = LogData(gateway_name=record.name, msg=record.getMessage(),
                               level=record.levelno)
            self._event_engine.put(Event(EVENT_LOG, log_data))
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


class Kernel:
    def __init__(self, paths: DataPaths, settings: Settings, *,
                 committed: Callable[[], object]) -> None:
        """`committed`: the journal's flush, run before the bridge hands the GUI a batch (see
        `EventBridge.drain`): what the trader sees is on disk first. Required: a kernel whose
        GUI could show what is not yet on disk is not one to trade on."""
        self.paths = paths
        self.settings = settings
        self.event_engine = IsolatedEventEngine()
        self.main_engine = MainEngine(self.event_engine)
        self.bridge = EventBridge(self.event_engine, committed=committed)
        self._log_handler = EngineLogHandler(self.event_engine)
        logging.getLogger().addHandler(self._log_handler)
        self._closed = False

    def add_gateway(self, gateway_class: type[BaseGateway], name: str = "") -> BaseGateway:
        return self.main_engine.add_gateway(gateway_class, name)

    def connect(self, gateway_name: str, setting: dict | None = None) -> None:
        gateway = self.main_engine.get_gateway(gateway_name)
        if gateway is None:
            raise KeyError(f"no gateway named {gateway_name!r}")
        config = dict(gateway.get_default_setting())
        config.update(setting or {})
        self.main_engine.connect(config, gateway_name)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        logging.getLogger().removeHandler(self._log_handler)
        self.bridge.close()
        try:
            self.main_engine.close()
        except Exception:  # a gateway failing to close must not block exit
            log.exception("error while closing the engines")
