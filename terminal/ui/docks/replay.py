"""Replay: practise on a past session from the store, with the same windows and orders.

The dock picks a series (ticks or 1-minute bars) and a trading day, hands the day to the
simulated exchange and then only sends it commands (play, pause, speed, seek, stop). It reads
the replay's state back four times a second; the slider follows the virtual clock unless the
trader is dragging it, and a release seeks.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                               QSlider, QWidget)
from vnpy.trader.constant import Exchange
from vnpy.trader.engine import MainEngine

from terminal.core.bridge import Batch
from terminal.gateways.sim import SimGateway
from terminal.gateways.sim import replay
from terminal.gateways.sim.replay import ReplayError, ReplayStatus
from terminal.market.watchlist import Watchlist
from terminal.storage.market_store import TICK_INTERVAL, MarketStore, StoreError
from terminal.ui.docks.common import RefreshedWhenShown

log = logging.getLogger(__name__)

SPEEDS = (1, 2, 5, 10, 25, 50, 100)
SLIDER_STEPS = 10_000
NS = replay.NS


class ReplayDock(RefreshedWhenShown, QWidget):
    symbol_activated = Signal(str)      # the replayed contract, to load in the order ticket

    def __init__(self, store: MarketStore, main_engine: MainEngine, watchlist: Watchlist,
                 gateway_name: str = SimGateway.default_name, parent=None) -> None:
        super().__init__(parent)
        self.store = store
        self.main_engine = main_engine
        self.watchlist = watchlist
        self.gateway_name = gateway_name
        self._pending: str | None = None   # replayed symbol waiting for its contract
        self._dragging = False
        self._status: ReplayStatus | None = None

        self.series_box = QComboBox()
        self.series_box.setMinimumContentsLength(22)
        self.series_box.setToolTip("Stored ticks, or 1-minute bars (replayed as four ticks a "
                                   "bar with a one-tick book: coarse)")
        self.day_box = QComboBox()
        self.speed_box = QComboBox()
        for speed in SPEEDS:
            self.speed_box.addItem(f"{speed}x", speed)
        self.refresh_button = QPushButton("Refresh")
        self.start_button = QPushButton("Load day")
        self.play_button = QPushButton("Play")
        self.stop_button = QPushButton("Stop")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.clock_label = QLabel("No replay")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c0392b")

        grid = QGridLayout(self)
        grid.addWidget(QLabel("Series"), 0, 0)
        grid.addWidget(self.series_box, 0, 1)
        grid.addWidget(self.refresh_button, 0, 2)
        grid.addWidget(QLabel("Trading day"), 1, 0)
        grid.addWidget(self.day_box, 1, 1)
        grid.addWidget(self.start_button, 1, 2)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Speed"))
        controls.addWidget(self.speed_box)
        controls.addWidget(self.play_button)
        controls.addWidget(self.stop_button)
        controls.addStretch(1)
        grid.addLayout(controls, 2, 0, 1, 3)
        grid.addWidget(self.slider, 3, 0, 1, 3)
        grid.addWidget(self.clock_label, 4, 0, 1, 3)
        grid.addWidget(self.message, 5, 0, 1, 3)
        grid.setRowStretch(6, 1)

        self.refresh_button.clicked.connect(self.refresh)
        self.series_box.currentIndexChanged.connect(self._series_changed)
        self.start_button.clicked.connect(self.start)
        self.play_button.clicked.connect(self.toggle_play)
        self.stop_button.clicked.connect(self.stop)
        self.speed_box.currentIndexChanged.connect(self._speed_changed)
        self.slider.sliderPressed.connect(lambda: setattr(self, "_dragging", True))
        self.slider.sliderReleased.connect(self._seek_to_slider)
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.poll)
        self._timer.start()
        self._show(None)        # the series are listed when the dock is first shown

    # ------------------------------------------------------------------ choosing a day
    @property
    def gateway(self) -> SimGateway | None:
        gateway = self.main_engine.get_gateway(self.gateway_name)
        return gateway if isinstance(gateway, SimGateway) else None

    def refresh(self) -> None:
        current = self.series_box.currentData()
        self.series_box.blockSignals(True)
        self.series_box.clear()
        for info in self.store.series():
            if info.interval not in replay.SOURCES:
                continue
            kind = "ticks" if info.interval == TICK_INTERVAL else "1-minute bars"
            self.series_box.addItem(f"{info.symbol}.{info.exchange.value}  {kind}",
                                    f"{info.symbol}|{info.exchange.value}|{info.interval}")
        self.series_box.blockSignals(False)
        index = self.series_box.findData(current) if current else 0
        self.series_box.setCurrentIndex(max(index, 0))
        self._series_changed()

    def _chosen(self) -> tuple[str, Exchange, str] | None:
        key = self.series_box.currentData()
        if not key:
            return None
        symbol, exchange, source = key.split("|")
        return symbol, Exchange(exchange), source

    def _series_changed(self) -> None:
        self.day_box.clear()
        chosen = self._chosen()
        if chosen is None:
            self.message.setText("The store holds no ticks or 1-minute bars to replay: "
                                 "import some from the Data dock or the command line.")
            return
        try:
            days = replay.available_days(self.store, *chosen)
        except StoreError as exc:
            self._fail(str(exc))
            return
        for day in reversed(days):
            self.day_box.addItem(day.isoformat())
        self.message.setText("")

    def start(self) -> bool:
        """Hand the chosen day to the simulated exchange, paused at its first tick."""
        chosen, day_text = self._chosen(), self.day_box.currentText()
        gateway = self.gateway
        if gateway is None or gateway.exchange is None:
            return self._fail("the simulated exchange is not connected")
        if chosen is None or not day_text:
            return self._fail("choose a series and a trading day first")
        symbol, exchange, source = chosen
        day = date.fromisoformat(day_text)
        try:
            feed = replay.load(self.store, symbol, exchange, day, source, self.gateway_name)
        except (ReplayError, StoreError) as exc:
            return self._fail(str(exc))
        gateway.start_replay(feed)
        gateway.control_replay("speed", self.speed_box.currentData())
        self._pending = feed.vt_symbol
        self.message.setText("")
        log.info("replay of %s on %s loaded", feed.vt_symbol, day)
        return True

    def choose(self, vt_symbol: str, source: str, day: date) -> None:
        """Select a series and day as a trader would in the boxes."""
        symbol, exchange = vt_symbol.rsplit(".", 1)
        index = self.series_box.findData(f"{symbol}|{exchange}|{source}")
        if index < 0:
            raise ValueError(f"no {source} series {vt_symbol} in the replay list")
        self.series_box.setCurrentIndex(index)
        self.day_box.setCurrentIndex(self.day_box.findText(day.isoformat()))

    # ------------------------------------------------------------------ controls
    def toggle_play(self) -> None:
        gateway, status = self.gateway, self._status
        if gateway is None or status is None:
            self._fail("load a day first")
            return
        gateway.control_replay("pause" if status.state == "playing" else "play")

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.control_replay("stop")

    def _speed_changed(self) -> None:
        if self.gateway is not None and self._status is not None:
            self.gateway.control_replay("speed", self.speed_box.currentData())

    def _seek_to_slider(self) -> None:
        self._dragging = False
        status = self._status
        if self.gateway is not None and status is not None:
            moment = status.first + (status.last - status.first) * self.slider.value() \
                // SLIDER_STEPS
            self.gateway.control_replay("seek", moment)

    def _fail(self, message: str) -> bool:
        self.message.setText(message)
        log.warning("replay: %s", message)
        return False

    # ------------------------------------------------------------------ following the replay
    def apply(self, batch: Batch) -> None:
        if self._pending and (self._pending in batch.contracts
                              or self.main_engine.get_contract(self._pending)):
            vt_symbol, self._pending = self._pending, None
            error = self.watchlist.add(vt_symbol)
            if error:
                self._fail(error)
            self.symbol_activated.emit(vt_symbol)

    def poll(self) -> None:
        gateway = self.gateway
        self._status = gateway.replay_status() if gateway is not None else None
        self._show(self._status)

    def _show(self, status: ReplayStatus | None) -> None:
        active = status is not None
        for widget in (self.play_button, self.stop_button, self.slider):
            widget.setEnabled(active)
        if status is None:
            self.clock_label.setText("No replay. Choose a day and press Load day.")
            self.play_button.setText("Play")
            return
        self.play_button.setText("Pause" if status.state == "playing" else "Play")
        if not self._dragging and status.last > status.first:
            self.slider.setValue(int((status.now - status.first) * SLIDER_STEPS
                                     // (status.last - status.first)))
        moment = datetime.fromtimestamp(status.now / NS, self.store.tz)
        unit = "ticks" if status.source == TICK_INTERVAL else "ticks from bars"
        self.clock_label.setText(
            f"{status.vt_symbol}  trading day {status.day}  ·  {moment:%Y-%m-%d %H:%M:%S}  ·  "
            f"{status.played:,} / {status.total:,} {unit}  ·  {status.state} at {status.speed:g}x"
        )
