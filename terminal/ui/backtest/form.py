"""What to backtest: strategy, data, period, costs and the strategy's parameters.

- Strategy: the plugin catalog's classes (shipped plugins, the user's folder, vn.py's bundled
  strategies), listed without importing the user's files; files that are not loaded (they
  raised, exited, crashed or hung while their check imported them) are listed under them,
  greyed out, with the reason, and so are files still being checked. The list fills in when
  the checks end.
- Data: the symbols and intervals of the market store that can be backtested (1m, 5m, 15m,
  30m, 1h, 4h, d, w bars and ticks; 5m-4h run as vn.py runs bars handed to it); the dates
  are set to the series' first and last day.
- Costs: contract size, price tick and commission rate from the contract's specification
  (`market.contracts.spec_for`, by product: rb2401 trades like rb2701), slippage one tick;
  all editable. A product charged per lot gets an approximate rate at a typical price.
- Parameters: one field per parameter of the class, read by the one parser
  (terminal.plugins.parameters) by the type of its default (a whole number, a finite number,
  true/false, text); a value that does not fit is named beside its field and nothing runs.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QComboBox, QDateEdit, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QToolButton, QVBoxLayout, QWidget)
from vnpy_ctastrategy.base import BacktestingMode

from terminal.backtest.engine import BacktestSettings
from terminal.backtest import built_bars, intervals
from terminal.backtest.pool_jobs import store_interval
from terminal.market.contracts import SPECS, spec_for
from terminal.plugins.loader import PluginError, StrategyCatalog, StrategyEntry
from terminal.plugins.parameters import kind_of
from terminal.storage.market_store import MarketStore, SeriesInfo
from terminal.ui import strategy_choices
from terminal.core.symbols import BadSymbol, split_vt_symbol
from terminal.ui.colours import ERROR_TEXT_STYLE
from terminal.ui.parameter_fields import ParameterFields

DEFAULT_CAPITAL = 1_000_000
INTERVAL_ORDER = {"tick": 0, "1m": 1, "5m": 2, "15m": 3, "30m": 4, "1h": 5, "4h": 6, "d": 7,
                  "w": 8}


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def buildable(stored: dict) -> dict[str, str]:
    """The lengths a backtest can build from a contract's stored series (`stored`: interval
    -> info), each with the stored one it is built from, as the command line builds them
    (terminal.backtest.built_bars)."""
    built = {}
    for interval in intervals.HANDED_OVER:
        source = built_bars.source_for(interval, stored)
        if source is not None:
            built[interval] = source
    return built


def _narrow_form(box: QGroupBox) -> QFormLayout:
    """A form whose fields take the width there is and whose long rows put the label above
    the field, so the panel fits the workbench's default dock without scrolling sideways."""
    form = QFormLayout(box)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    return form


class SettingsPanel(QWidget):
    strategy_changed = Signal(str)
    data_changed = Signal()

    def __init__(self, catalog: StrategyCatalog, store: MarketStore, parent=None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.store = store
        self.series: dict[str, dict[str, SeriesInfo]] = {}   # vt_symbol -> interval -> info
        self.built: dict[str, dict[str, str]] = {}   # vt_symbol -> interval -> stored source
        self.entry: StrategyEntry | None = None
        self.defaults: dict[str, object] = {}
        self._build()
        self.watch = strategy_choices.CatalogWatch(catalog, self)
        self.watch.changed.connect(self.refresh_strategies)
        self.refresh_strategies()
        self.refresh_series()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.strategy_box = QComboBox()
        # narrow enough for the workbench's default dock: long names are elided, not scrolled
        self.strategy_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.strategy_box.setMinimumContentsLength(14)
        self.strategy_box.currentIndexChanged.connect(self._strategy_chosen)
        self.reload_button = QToolButton()
        self.reload_button.setText("↻")
        self.reload_button.setToolTip("Read the strategy files again (new, changed and fixed "
                                      "ones) and the market store's series")
        self.reload_button.clicked.connect(self.reload)
        strategy_row = QHBoxLayout()
        strategy_row.addWidget(self.strategy_box, 1)
        strategy_row.addWidget(self.reload_button)
        self.strategy_info = QLabel("")
        self.strategy_info.setWordWrap(True)
        self.strategy_info.setStyleSheet("color: #8a9099")
        self.errors_label = QLabel("")
        self.errors_label.setWordWrap(True)
        self.errors_label.setStyleSheet(ERROR_TEXT_STYLE)

        self.symbol_box = QComboBox()
        self.symbol_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.symbol_box.setMinimumContentsLength(12)
        self.symbol_box.currentIndexChanged.connect(self._symbol_chosen)
        self.interval_box = QComboBox()
        self.interval_box.currentIndexChanged.connect(self._interval_chosen)
        self.start_edit = QDateEdit()
        self.end_edit = QDateEdit()
        for edit in (self.start_edit, self.end_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.range_label = QLabel("")
        self.range_label.setWordWrap(True)
        self.range_label.setStyleSheet("color: #8a9099")

        self.capital_spin = self._money(0, 1e12, 0, DEFAULT_CAPITAL, 100_000)
        self.rate_spin = self._money(0, 0.1, 8, 0.0, 0.00001)
        self.rate_spin.setToolTip("Commission as a fraction of traded value (0.0001 = 1 in "
                                  "10,000), charged on every fill")
        self.slippage_spin = self._money(0, 1e6, 4, 0.0, 1)
        self.slippage_spin.setToolTip("Price units lost on every fill")
        self.size_spin = self._money(0, 1e6, 4, 1.0, 1)
        self.size_spin.setToolTip("Contract multiplier (units per lot)")
        self.pricetick_spin = self._money(0, 1e6, 6, 1.0, 1)
        self.contract_label = QLabel("")
        self.contract_label.setWordWrap(True)
        self.contract_label.setStyleSheet("color: #8a9099")

        what = QGroupBox("Strategy")
        form = QVBoxLayout(what)
        form.addLayout(strategy_row)
        form.addWidget(self.strategy_info)
        form.addWidget(self.errors_label)

        data = QGroupBox("Data")
        data_form = _narrow_form(data)
        data_form.addRow("Symbol", self.symbol_box)
        data_form.addRow("Interval", self.interval_box)
        data_form.addRow("From", self.start_edit)
        data_form.addRow("To", self.end_edit)
        data_form.addRow(self.range_label)

        costs = QGroupBox("Capital and costs")
        costs_form = _narrow_form(costs)
        costs_form.addRow("Capital", self.capital_spin)
        costs_form.addRow("Commission rate", self.rate_spin)
        costs_form.addRow("Slippage", self.slippage_spin)
        costs_form.addRow("Contract size", self.size_spin)
        costs_form.addRow("Price tick", self.pricetick_spin)
        costs_form.addRow(self.contract_label)

        self.params_box = QGroupBox("Parameters")
        self.params_form = _narrow_form(self.params_box)
        self.fields = ParameterFields(self.params_form)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        for box in (what, data, costs, self.params_box):
            layout.addWidget(box)
        layout.addStretch(1)

    @staticmethod
    def _money(low: float, high: float, decimals: int, value: float,
               step: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(low, high)
        spin.setDecimals(decimals)
        spin.setSingleStep(step)
        spin.setValue(value)
        spin.setGroupSeparatorShown(True)
        spin.setKeyboardTracking(False)
        return spin

    # ------------------------------------------------------------------ strategies
    def reload(self) -> None:
        """Read the strategy folders again: changed and new files are checked, and those
        that failed are checked again (a package installed since); the list fills when the
        checks end."""
        try:
            self.catalog.refresh(wait=False, retry=True)
        except Exception as exc:  # noqa: BLE001 - a scan that fails is shown, not raised
            self.errors_label.setText(f"the strategy folders cannot be read: {exc}")
        self.refresh_strategies()
        self.refresh_series()

    def refresh_strategies(self) -> None:
        """The catalog's classes, then the files not loaded (greyed out, with the reason) and
        those being checked; the choice and the parameters typed are kept."""
        current = self.strategy_name()
        self.strategy_box.blockSignals(True)
        try:
            names = strategy_choices.fill(self.strategy_box, self.catalog)
            self.errors_label.setText(strategy_choices.summary(self.catalog))
        except Exception as exc:  # noqa: BLE001
            names = []
            self.errors_label.setText(f"the strategy folders cannot be read: {exc}")
        if current in names:
            self.strategy_box.setCurrentIndex(self.strategy_box.findData(current))
        self.strategy_box.blockSignals(False)
        if current in names:
            entry = self.catalog.entries.get(current)
            if entry is not None and entry.parameters != self.defaults:
                self._take_entry(entry)
        elif names:
            self.set_strategy("DoubleMaStrategy" if "DoubleMaStrategy" in names else names[0])
        else:
            self._strategy_chosen()

    def strategy_name(self) -> str:
        return self.strategy_box.currentData() or ""

    def set_strategy(self, name: str) -> bool:
        index = self.strategy_box.findData(name)
        if index < 0:
            return False
        if index == self.strategy_box.currentIndex():
            self._strategy_chosen()
        else:
            self.strategy_box.setCurrentIndex(index)
        return True

    def _strategy_chosen(self, *_) -> None:
        name = self.strategy_name()
        self.entry = self.catalog.entries.get(name) if name else None
        self._show_entry()
        self._build_params(self.entry.parameters if self.entry is not None else {})
        self.strategy_changed.emit(name)

    def _show_entry(self) -> None:
        parts = []
        if self.entry is not None:
            if self.entry.summary:
                parts.append(self.entry.summary)
            parts.append(f"{'vn.py bundled' if self.entry.bundled else self.entry.path}")
        self.strategy_info.setText("\n".join(parts))

    def _take_entry(self, entry: StrategyEntry) -> None:
        """Show a new version of the chosen strategy (its file changed): its parameters
        rebuilt, the values typed kept where the parameter is still there, of the same
        kind."""
        held = self.fields.texts()
        previous = dict(self.defaults)
        self.entry = entry
        self._show_entry()
        self._build_params(entry.parameters)
        for key, text in held.items():
            if key in self.fields.fields and kind_of(entry.parameters[key]) == \
                    kind_of(previous.get(key)):
                self.fields.set_text(key, text)

    def current_entry(self) -> StrategyEntry:
        """The chosen strategy's entry as its file is now, without waiting: the folders are
        read again (a changed trusted file imported again, a changed checked one checked
        again in the background). Raises PluginError when it cannot run now, with why."""
        name = self.strategy_name()
        if not name:
            raise PluginError("choose a strategy")
        self.catalog.refresh(wait=False)
        entry = self.catalog.entries.get(name)
        if entry is None:
            raise PluginError(self.catalog.why_missing(name))
        if str(entry.path) in self.catalog.pending:
            raise PluginError(f"{name}: {Path(entry.path).name} changed and is being checked; "
                              "run it again when the check has ended")
        if entry.parameters != self.defaults:
            self._take_entry(entry)
        self.entry = entry
        return entry

    # ------------------------------------------------------------------ parameters
    def _build_params(self, defaults: dict) -> None:
        self.defaults = dict(defaults)
        self.fields.build(defaults)
        self.params_box.setTitle(f"Parameters ({len(defaults)})" if defaults
                                 else "Parameters (none)")

    def set_params(self, values: dict) -> None:
        """Put values into the fields (those the strategy has)."""
        for name, value in values.items():
            if name in self.fields.fields:
                self.fields.set_value(name, value)

    def params(self) -> dict:
        """The parameters typed; ParameterValueError (a ValueError) naming the first that
        does not fit, each shown beside its field."""
        return self.fields.values()

    # ------------------------------------------------------------------ data
    def refresh_series(self) -> None:
        """The store's series that can be backtested, keeping the choice."""
        try:
            infos = self.store.series()
        except Exception as exc:  # noqa: BLE001 - a damaged catalogue must not take us down
            self.range_label.setText(f"the market store cannot be read: {exc}")
            infos = []
        series: dict[str, dict[str, SeriesInfo]] = {}
        for info in infos:
            if store_interval(info.interval):
                series.setdefault(f"{info.symbol}.{info.exchange.value}", {})[info.interval] = info
        if series == self.series and self.symbol_box.count() == len(series):
            return
        self.series = series
        self.built = {vt_symbol: buildable(stored) for vt_symbol, stored in series.items()}
        symbol, interval = self.vt_symbol(), self.interval()
        self.symbol_box.blockSignals(True)
        self.symbol_box.clear()
        for vt_symbol in sorted(series):
            simulated = any(info.simulated for info in series[vt_symbol].values())
            self.symbol_box.addItem(vt_symbol + (" (simulated)" if simulated else ""), vt_symbol)
        self.symbol_box.blockSignals(False)
        if not series:
            self.range_label.setText("The market store has no bars: import some in the Data "
                                     "dock")
            self.interval_box.clear()
            return
        self.select_series(symbol if symbol in series else sorted(series)[0], interval)

    def select_series(self, vt_symbol: str, interval: str = "") -> bool:
        index = self.symbol_box.findData(vt_symbol)
        if index < 0:
            return False
        self.symbol_box.blockSignals(True)
        self.symbol_box.setCurrentIndex(index)
        self.symbol_box.blockSignals(False)
        self._symbol_chosen(prefer=interval)
        return True

    def vt_symbol(self) -> str:
        return self.symbol_box.currentData() or ""

    def interval(self) -> str:
        return self.interval_box.currentData() or ""

    def _symbol_chosen(self, *_, prefer: str = "") -> None:
        vt_symbol = self.vt_symbol()
        built = self.built.get(vt_symbol, {})
        intervals = sorted([*self.series.get(vt_symbol, {}), *built],
                           key=lambda i: INTERVAL_ORDER.get(i, 9))
        current = prefer or self.interval()
        self.interval_box.blockSignals(True)
        self.interval_box.clear()
        for interval in intervals:
            self.interval_box.addItem(
                f"{interval} (built from {built[interval]})" if interval in built else interval,
                interval)
        if current in intervals:
            self.interval_box.setCurrentIndex(intervals.index(current))
        elif "1m" in intervals:
            self.interval_box.setCurrentIndex(intervals.index("1m"))
        self.interval_box.blockSignals(False)
        self._prefill_contract(vt_symbol)
        self._interval_chosen()

    def _interval_chosen(self, *_) -> None:
        stored = self.series.get(self.vt_symbol(), {})
        source = self.built.get(self.vt_symbol(), {}).get(self.interval())
        info = stored.get(source or self.interval())
        if info is not None:
            self.start_edit.setDate(_qdate(info.first.date()))
            self.end_edit.setDate(_qdate(info.last.date()))
            self.range_label.setText(
                (f"built from the stored {source} bars on the trading sessions (as the "
                 f"command line does), {info.count:,} {source} rows, " if source else
                 f"{info.count:,} rows, ")
                + f"{info.first:%Y-%m-%d %H:%M} to {info.last:%Y-%m-%d %H:%M}")
        self.data_changed.emit()

    def _prefill_contract(self, vt_symbol: str) -> None:
        try:
            symbol, exchange = split_vt_symbol(vt_symbol)
        except BadSymbol:
            return
        try:
            spec = spec_for(symbol, exchange, 0.0)
        except KeyError as exc:
            self.contract_label.setText(f"{exc.args[0]}: enter the size, tick and costs")
            return
        self.size_spin.setValue(spec.size)
        self.pricetick_spin.setValue(spec.pricetick)
        self.slippage_spin.setValue(spec.pricetick)
        note = f"{spec.name} ({spec.product}): size {spec.size:g}, tick {spec.pricetick:g}"
        if spec.fee_rate > 0:
            self.rate_spin.setValue(spec.fee_rate)
            note += f", commission {spec.fee_rate:g} of value"
        elif spec.fee_per_lot > 0:
            typical = next((s.base_price for s in SPECS if s.product == spec.product
                            and s.exchange == spec.exchange), 0.0)
            if typical > 0:
                self.rate_spin.setValue(spec.fee_per_lot / (typical * spec.size))
            note += (f", commission {spec.fee_per_lot:g} CNY per lot (vn.py's backtester "
                     f"charges a rate: about {self.rate_spin.value():.3g} at a price of "
                     f"{typical:g})")
        note += "; slippage one tick"
        self.contract_label.setText(note)

    # ------------------------------------------------------------------ the settings
    def settings(self) -> BacktestSettings:
        """What to run, checked; ValueError says what is wrong."""
        vt_symbol, interval = self.vt_symbol(), self.interval()
        if not vt_symbol or not interval:
            raise ValueError("choose a symbol and an interval from the market store")
        start, end = _day(self.start_edit.date()), _day(self.end_edit.date())
        if end < start:
            raise ValueError(f"the period ends ({end}) before it starts ({start})")
        for label, spin in (("capital", self.capital_spin), ("contract size", self.size_spin),
                            ("price tick", self.pricetick_spin)):
            if spin.value() <= 0:
                raise ValueError(f"the {label} must be above 0")
        tick = interval == "tick"
        return BacktestSettings(
            vt_symbol=vt_symbol, start=datetime(start.year, start.month, start.day),
            end=datetime(end.year, end.month, end.day), interval=intervals.setting(interval),
            rate=self.rate_spin.value(), slippage=self.slippage_spin.value(),
            size=self.size_spin.value(), pricetick=self.pricetick_spin.value(),
            capital=self.capital_spin.value(),
            mode=BacktestingMode.TICK if tick else BacktestingMode.BAR)

    def set_period(self, start: date, end: date) -> None:
        self.start_edit.setDate(_qdate(start))
        self.end_edit.setDate(_qdate(end))
