"""The volume profile on a chart's price pane: volume by price over the visible bars, drawn
at the pane's right edge growing leftwards, or one profile per trading session drawn inside
that session's bars growing rightwards. The point of control (POC) row is highlighted and the
70% value area is drawn stronger than the rest; the visible range's POC, VAH and VAL are
labelled, and the readout under the crosshair names the profile's figures.

A chart above 1 minute builds its profile from the stored 1-minute bars behind its bars (read
on a worker thread; the live minutes come from the dock), which say more about where volume
traded than a 30-minute bar's range does; until they are read, or when none are stored, from
its own bars.

The numbers are `market.volume_profile`'s. They are recomputed when the visible range or the
bars change, but never on every pan frame: a `ui.pacing` clock at the chart's live-draw pace
runs them, and each recomputation waits nine times as long as the last one took, so a profile
over a million bars (tens of ms) never takes more than a tenth of the GUI thread. Between two
recomputations the histogram keeps its rows and only moves with the pane's edge.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QThreadPool
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QInputDialog, QMenu, QWidget
from vnpy.trader.constant import Exchange
from vnpy.trader.object import ContractData

from terminal.core.symbols import BadSymbol, split_vt_symbol
from terminal.market import contracts
from terminal.market import volume_profile as vp
from terminal.market.bar_series import BarSeries
from terminal.market.prices import decimals_for
from terminal.storage.market_store import MarketStore
from terminal.ui.chart.widget import ChartWidget
from terminal.ui.pacing import Pacer
from terminal.ui.theme import current as current_theme
from terminal.ui.thread_jobs import ThreadJob

log = logging.getLogger(__name__)

MODES = dict(zip(vp.MODES, ("Off", "Visible range", "Per session"), strict=True))   # labels
WIDTH_SHARE = 0.25          # the visible range's histogram: its longest row, of the pane's width
SESSION_SHARE = 0.95        # a session's longest row, of the session's width
MAX_SESSIONS = 200          # more sessions than this on screen: too narrow to read, none drawn
DUTY = 0.1                  # recomputing takes at most this share of the GUI thread
LABEL_PAD_PIXELS = 16


def visible_bars(box, count: int) -> tuple[int, int]:
    """[first, stop) of the bars whose middle is inside the view's X range."""
    (left, right), _ = box.viewRange()
    first = max(0, int(math.ceil(left)))  # noqa: RUF046 - numpy floats' ceil is not an int everywhere
    stop = min(count, int(math.floor(right)) + 1)  # noqa: RUF046
    return first, max(first, stop)


def price_tick(contract: ContractData | None, vt_symbol: str, series: BarSeries
               ) -> float | None:
    """The tick rows are made of: the connected gateway's contract's, else the product's in
    the contract table (rb2401 trades like rb2701), else the one the bars show."""
    if contract is not None and contract.pricetick > 0:
        return float(contract.pricetick)
    try:
        symbol, exchange = split_vt_symbol(vt_symbol)
        return contracts.spec_for(symbol, exchange, 0.0).pricetick
    except (BadSymbol, KeyError):
        pass
    tail = slice(-10_000, None)
    return vp.infer_tick(np.r_[series.column("high_price")[tail],
                               series.column("low_price")[tail],
                               series.column("close_price")[tail]])


@dataclass(frozen=True)
class MinuteSource:
    """Where a chart above 1 minute finds the 1-minute bars its profile is built from (finer
    than its own bars): the store, read on a worker thread once per history shown, and the
    dock's last minutes (the stored tail and the live ones)."""
    store: MarketStore
    shown: Callable[[], tuple[str, str]]        # (vt_symbol, timeframe) the chart shows
    recent: Callable[[], BarSeries]             # the last 1-minute bars, live ones included


def stored_minutes(store: MarketStore, symbol: str, exchange: Exchange, bar_times: np.ndarray,
                   daily: bool, tz: ZoneInfo) -> dict | None:
    """The stored 1-minute bars of a symbol with the chart bar each falls in (None: none
    stored). Runs on a worker thread."""
    if not any(info.interval == "1m" for info in store.series()
               if info.symbol == symbol and info.exchange == exchange):
        return None
    table = store.load_table(symbol, exchange, "1m")
    times = table.column("datetime").to_numpy()
    if not len(times):
        return None
    bars = vp.bars_of_minutes(bar_times, times, daily, tz)
    keep = bars >= 0
    return {"bar": bars[keep], "high": table.column("high_price").to_numpy()[keep],
            "low": table.column("low_price").to_numpy()[keep],
            "volume": table.column("volume").to_numpy()[keep], "last": int(times[-1])}


def _rects(x: np.ndarray, y: np.ndarray, width: np.ndarray, height: np.ndarray) -> list:
    return list(map(QRectF, x.tolist(), y.tolist(), width.tolist(), height.tolist()))


def poc_text(profile: vp.Profile) -> str:
    """The POC as a trader reads it: its price, or its row's prices when a row holds
    several ticks."""
    digits = decimals_for(profile.tick)
    if profile.ticks_per_row == 1:
        return f"{profile.poc_price:.{digits}f}"
    return f"{profile.row_low(profile.poc):.{digits}f}–{profile.row_high(profile.poc):.{digits}f}"


def _row_kinds(profile: vp.Profile) -> np.ndarray:
    """0: outside the value area, 1: inside it, 2: the POC; rows with no volume: -1."""
    kinds = np.zeros(profile.rows, np.int8)
    kinds[profile.value_low:profile.value_high + 1] = 1
    kinds[profile.poc] = 2
    kinds[profile.volumes <= 0] = -1
    return kinds


class ProfileItem(pg.GraphicsObject):
    """Draws the profiles it is given; knows nothing of bars."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(-5)                     # behind the candles
        self.overlay = ProfileLabels(self)     # its labels, above them
        self.visible: vp.Profile | None = None
        self.sessions: list[tuple[float, float, vp.Profile]] = []   # (left x, width, profile)
        self._session_rects: dict[int, list[QRectF]] = {}
        self._session_bounds = QRectF()
        self._brushes: tuple[str, dict] = ("", {})

    # ------------------------------------------------------------------ what is shown
    def show_visible(self, profile: vp.Profile | None) -> None:
        self.prepareGeometryChange()
        self.visible, self.sessions, self._session_rects = profile, [], {}
        self.update()
        self.overlay.moved()

    def show_sessions(self, sessions: list[tuple[float, float, vp.Profile]]) -> None:
        """Rows in chart coordinates once, here: panning only moves them."""
        self.prepareGeometryChange()
        self.visible, self.sessions = None, sessions
        parts: dict[int, list] = {0: [], 1: [], 2: []}
        bounds = QRectF()
        for left, width, profile in sessions:
            edges = profile.edges()
            lengths = profile.volumes / profile.volumes.max() * width * SESSION_SHARE
            kinds = _row_kinds(profile)
            for kind in parts:
                rows = np.flatnonzero(kinds == kind)
                parts[kind] += _rects(np.full(len(rows), left), edges[rows], lengths[rows],
                                      edges[rows + 1] - edges[rows])
            bounds = bounds.united(QRectF(left, edges[0], width, edges[-1] - edges[0]))
        self._session_rects, self._session_bounds = parts, bounds
        self.update()
        self.overlay.moved()

    def labels(self) -> list[tuple[float, str]]:
        """The visible range's labels: (price, text), POC, VAH and VAL."""
        profile = self.visible
        if profile is None:
            return []
        digits = decimals_for(profile.tick)
        return [(profile.poc_price, f"POC {poc_text(profile)}"),
                (profile.value_area_high, f"VAH {profile.value_area_high:.{digits}f}"),
                (profile.value_area_low, f"VAL {profile.value_area_low:.{digits}f}")]

    # ------------------------------------------------------------------ geometry
    def viewTransformChanged(self) -> None:
        """The visible range's histogram hangs on the view's right edge: its bounds move."""
        if self.visible is not None:
            self.prepareGeometryChange()
        super().viewTransformChanged()

    def zone(self) -> QRectF | None:
        """Where the visible range's histogram is drawn, in chart coordinates."""
        view = self.viewRect()
        if self.visible is None or view is None or not view.isValid():
            return None
        edges = self.visible.edges()
        width = view.width() * WIDTH_SHARE
        return QRectF(view.right() - width, edges[0], width, edges[-1] - edges[0])

    def boundingRect(self) -> QRectF:
        if self.sessions:
            return self._session_bounds
        zone = self.zone()
        if zone is None:
            return QRectF()
        pad = LABEL_PAD_PIXELS * (self.pixelHeight() or 0.0)
        return zone.adjusted(0, -pad, 0, pad)

    # ------------------------------------------------------------------ paint
    def theme_brushes(self) -> dict:
        colors = current_theme().chart
        key = colors.profile + colors.profile_value + colors.profile_poc + colors.label_text
        if self._brushes[0] != key:
            self._brushes = (key, {0: pg.mkBrush(colors.profile),
                                   1: pg.mkBrush(colors.profile_value),
                                   2: pg.mkBrush(colors.profile_poc),
                                   "text": pg.mkPen(colors.label_text),
                                   "line": pg.mkPen(colors.profile_poc, width=1,
                                                    style=Qt.PenStyle.DashLine)})
        return self._brushes[1]

    def paint(self, painter, option, widget=None) -> None:
        brushes = self.theme_brushes()
        painter.setPen(Qt.PenStyle.NoPen)
        if self.sessions:
            for kind, rects in self._session_rects.items():
                if rects:                      # (drawRects of no rects crashes the binding)
                    painter.setBrush(brushes[kind])
                    painter.drawRects(rects)
            return
        zone = self.zone()
        if zone is None:
            return
        profile = self.visible
        edges = profile.edges()
        lengths = profile.volumes / profile.volumes.max() * zone.width()
        kinds = _row_kinds(profile)
        for kind in (0, 1, 2):
            rows = np.flatnonzero(kinds == kind)
            if len(rows):
                painter.setBrush(brushes[kind])
                painter.drawRects(_rects(zone.right() - lengths[rows], edges[rows],
                                         lengths[rows], edges[rows + 1] - edges[rows]))


class ProfileLabels(pg.GraphicsObject):
    """The visible range's POC, VAH and VAL lines and labels, over the candles (the rows are
    under them)."""

    def __init__(self, rows: ProfileItem) -> None:
        super().__init__()
        self.setZValue(15)
        self.rows = rows

    def moved(self) -> None:
        self.prepareGeometryChange()
        self.update()

    def viewTransformChanged(self) -> None:
        if self.rows.visible is not None:
            self.prepareGeometryChange()
        super().viewTransformChanged()

    def boundingRect(self) -> QRectF:
        return self.rows.boundingRect() if self.rows.visible is not None else QRectF()

    def paint(self, painter, option, widget=None) -> None:
        """In screen pixels, at the histogram's left (text is not scaled)."""
        profile, zone = self.rows.visible, self.rows.zone()
        if profile is None or zone is None:
            return
        brushes = self.rows.theme_brushes()
        transform = painter.transform()
        painter.save()
        painter.resetTransform()
        painter.setPen(brushes["line"])
        for price in (profile.edges()[profile.value_high + 1], profile.edges()[profile.value_low]):
            painter.drawLine(transform.map(QPointF(zone.left(), price)),
                             transform.map(QPointF(zone.right(), price)))
        painter.setPen(brushes["text"])
        height = painter.fontMetrics().ascent()
        # POC above its row, VAH above the area's top edge, VAL below its bottom edge.
        edges = profile.edges()
        places = ((edges[profile.poc + 1], -2), (edges[profile.value_high + 1], -2),
                  (edges[profile.value_low], height + 2))
        for (_, text), (price, lift) in zip(self.rows.labels(), places, strict=True):
            point = transform.map(QPointF(zone.left(), price))
            painter.drawText(QPointF(point.x() + 4, point.y() + lift), text)
        painter.restore()


class VolumeProfile(QObject):
    """The profile of one chart: its mode and row size (kept in the chart's state), the
    numbers, and the item that draws them."""

    def __init__(self, chart: ChartWidget, tick: Callable[[], float | None],
                 per_second: float, parent: QObject | None = None,
                 minutes: MinuteSource | None = None) -> None:
        """`tick`: the price tick of the chart's symbol (asked when the bars are replaced);
        `minutes`: where 1-minute bars are found for a longer timeframe (None: the chart's
        own bars only)."""
        super().__init__(parent)
        self.chart = chart
        self._tick_of = tick
        self.minutes = minutes
        self.built_from = ""                            # "1m" when built from minutes
        self._fine: dict | None = None                  # `stored_minutes` of the bars shown
        self._fine_asked = False
        self._history = 0                               # bumped when the bars are replaced
        self._ranges: vp.RangeProfiles | None = None        # of the chart's bars
        self._fine_ranges: vp.RangeProfiles | None = None   # of the stored minutes
        self.mode = "off"
        self.ticks_per_row: int | None = None          # None: automatic
        self.visible: vp.Profile | None = None
        self.sessions: list[vp.SessionProfile] = []
        self.note = ""                                  # why nothing is drawn, when it is not
        self.item = ProfileItem()
        for item in (self.item, self.item.overlay):
            item.hide()
            chart.price.addItem(item, ignoreBounds=True)
        self.refresh = Pacer(self._compute, per_second, self)
        self._not_before = 0.0
        self._tick: float | None = None
        self._days: np.ndarray | None = None            # trading day of each bar, as far as known
        self._session_rows = 1
        chart.price.getViewBox().sigXRangeChanged.connect(lambda *_: self._changed())
        chart.bars_changed.connect(self._bars_changed)
        chart.hovered.connect(self._hovered)

    # ------------------------------------------------------------------ settings
    def set_mode(self, mode: str) -> None:
        self.mode = vp.check_mode(mode)
        self.item.setVisible(mode != "off")
        self.item.overlay.setVisible(mode != "off")
        if mode == "off":
            self.refresh.cancel()
            self.visible, self.sessions, self.note = None, [], ""
            self.item.show_visible(None)
        else:
            self._changed(at_once=True)

    def set_row_ticks(self, ticks: int | None) -> None:
        """Rows of `ticks` ticks; None (or 0): chosen for a readable number of rows."""
        self.ticks_per_row = vp.check_row_ticks(ticks)
        self._changed(at_once=True)

    def state(self) -> dict:
        return {"mode": self.mode, "ticks_per_row": self.ticks_per_row}

    def restore(self, state: dict | None) -> None:
        """The saved mode and row size (`market.volume_profile.check_settings`); raises
        ValueError naming a bad value (nothing set). None or {}: left as they are."""
        if not state:
            return
        checked = vp.check_settings(state)
        self.set_row_ticks(checked["ticks_per_row"])
        self.set_mode(checked["mode"])

    def fill_menu(self, menu: QMenu) -> None:
        """Off / Visible range / Per session, and Row size… (the chart dock's Indicators)."""
        group = QActionGroup(menu)
        for mode, label in MODES.items():
            action = QAction(label, menu, checkable=True, checked=mode == self.mode)
            action.triggered.connect(lambda _=False, m=mode: self.set_mode(m))
            group.addAction(action)
            menu.addAction(action)
        menu.addSeparator()
        size = f"{self.ticks_per_row} ticks" if self.ticks_per_row else "automatic"
        menu.addAction(f"Row size… ({size})", lambda: self.ask_row_ticks(menu.parentWidget()))

    def ask_row_ticks(self, parent: QWidget | None) -> None:
        value, ok = QInputDialog.getInt(parent, "Volume profile",
                                        "Ticks a row (0: automatic, 60-120 rows)",
                                        self.ticks_per_row or 0, 0, vp.MAX_ROW_TICKS)
        if ok:
            self.set_row_ticks(value)

    def close(self) -> None:
        """The chart is closing: nothing more is computed, and a read of minutes still under
        way is void when it comes back (the pacer's timer goes with the chart)."""
        self.refresh.cancel()
        self.mode = "off"
        self._history += 1

    # ------------------------------------------------------------------ when to recompute
    def _bars_changed(self, replaced: bool) -> None:
        if replaced:
            self._tick, self._days = None, None
            self._fine, self._fine_asked = None, False
            self._ranges = self._fine_ranges = None
            self._history += 1
        elif self._ranges is not None:
            self._ranges.changed(len(self.chart.series) - 1)
        self._changed()

    def _ask_minutes(self) -> None:
        """Read the stored 1-minute bars behind a longer timeframe, once per history."""
        self._fine_asked = True
        if self.minutes is None:
            return
        vt_symbol, timeframe = self.minutes.shown()
        if timeframe == "1m" or not vt_symbol:
            return
        symbol, exchange = split_vt_symbol(vt_symbol)
        store, history, tz = self.minutes.store, self._history, self.chart.tz
        times, daily = self.chart.series.times.copy(), self.chart.daily
        job = ThreadJob(lambda job: stored_minutes(store, symbol, exchange, times, daily, tz),
                        name=f"volume profile minutes {vt_symbol}")
        job.succeeded.connect(lambda fine: self._minutes_read(history, fine))
        job.failed.connect(lambda exc: log.warning(
            "volume profile of %s: its 1-minute bars could not be read (%s); built from its "
            "%s bars", vt_symbol, exc, timeframe))
        job.start(QThreadPool.globalInstance())

    def _minutes_read(self, history: int, fine: dict | None) -> None:
        if history == self._history and fine is not None:
            self._fine, self._fine_ranges = fine, None
            self._changed()

    def _live_minutes(self, first: int, stop: int) -> dict | None:
        """The dock's 1-minute bars after the stored ones (live) that fall in chart bars
        [first, stop), with the chart bar of each; None: none."""
        fine, recent = self._fine, self.minutes.recent()
        later = recent.times > fine["last"]
        if not len(recent) or not later.any():
            return None
        base = int(fine["bar"][-1]) if len(fine["bar"]) else 0
        bars = vp.bars_of_minutes(self.chart.series.times[base:], recent.times[later],
                                  self.chart.daily, self.chart.tz)
        bars = np.where(bars >= 0, bars + base, -1)
        take = (bars >= first) & (bars < stop)
        if not take.any():
            return None
        return {"bar": bars[take], **{name: recent.column(column)[later][take] for name, column
                                      in (("high", "high_price"), ("low", "low_price"),
                                          ("volume", "volume"))}}

    def _fine_bars(self, first: int, stop: int) -> dict | None:
        """The 1-minute bars of chart bars [first, stop): the stored ones, then the dock's
        later ones (live); None when there are no minutes to build from."""
        fine = self._fine
        if fine is None:
            return None
        a, b = np.searchsorted(fine["bar"], [first, stop], "left")
        live = self._live_minutes(first, stop)
        return {name: np.r_[fine[name][a:b], live[name]] if live else fine[name][a:b]
                for name in ("bar", "high", "low", "volume")}

    def _changed(self, at_once: bool = False) -> None:
        if self.mode == "off":
            return
        if at_once:
            self.refresh.cancel()
            self._compute()
        else:
            self.refresh.request(after=self._not_before)

    # ------------------------------------------------------------------ computing
    def _compute(self) -> None:
        started = time.perf_counter()
        self.note = ""
        series = self.chart.series
        if self._tick is None and len(series):
            self._tick = self._tick_of()
        if not len(series):
            self.visible, self.sessions = None, []
            self.item.show_visible(None)
        elif self._tick is None:
            self.note = "volume profile: the price tick is not known"
            self.item.show_visible(None)
        else:
            if not self._fine_asked:
                self._ask_minutes()
            if self.mode == "visible":
                self._compute_visible(series)
            else:
                self._compute_sessions(series)
        cost = time.perf_counter() - started
        self._not_before = time.perf_counter() + cost * (1 / DUTY - 1)

    def _compute_visible(self, series: BarSeries) -> None:
        """Through `RangeProfiles`: zoomed out over a million bars it costs a millisecond."""
        first, stop = visible_bars(self.chart.price.getViewBox(), len(series))
        self.sessions = []
        fine = self._fine
        self.built_from = "1m" if fine is not None else ""
        if fine is None:
            if self._ranges is None:
                self._ranges = vp.RangeProfiles(self._tick)
            self.visible = self._ranges.profile(
                series.column("high_price"), series.column("low_price"),
                series.column("volume"), first, stop, self.ticks_per_row)
        else:
            if self._fine_ranges is None:
                self._fine_ranges = vp.RangeProfiles(self._tick)
            a, b = np.searchsorted(fine["bar"], [first, stop], "left")
            live = self._live_minutes(first, stop)
            self.visible = self._fine_ranges.profile(
                fine["high"], fine["low"], fine["volume"], int(a), int(b), self.ticks_per_row,
                extra=(live["high"], live["low"], live["volume"]) if live else None)
        self.item.show_visible(self.visible)

    def _trading_days(self, series: BarSeries) -> np.ndarray:
        """Each bar's trading day, kept: a live bar adds its own only."""
        count, known = len(series), 0 if self._days is None else len(self._days)
        if self._days is None or count < known:
            self._days = vp.trading_days(series.times, self.chart.tz)
            spans = vp.sessions(self._days)
            self._session_rows = vp.session_row_ticks(series.column("high_price"),
                                                      series.column("low_price"), spans,
                                                      self._tick)
        elif count > known:
            self._days = np.r_[self._days, vp.trading_days(series.times[known:], self.chart.tz)]
        return self._days

    def _compute_sessions(self, series: BarSeries) -> None:
        self.visible = None
        days = self._trading_days(series)
        first, stop = visible_bars(self.chart.price.getViewBox(), len(series))
        if stop <= first:
            self.sessions = []
            self.item.show_sessions([])
            return
        first = int(np.searchsorted(days, days[first], "left"))      # whole sessions
        stop = int(np.searchsorted(days, days[stop - 1], "right"))
        if len(np.unique(days[first:stop])) > MAX_SESSIONS:
            self.sessions = []
            self.note = f"volume profile: more than {MAX_SESSIONS} sessions on screen, zoom in"
            self.item.show_sessions([])
            return
        rows = self.ticks_per_row or self._session_rows
        fine = self._fine_bars(first, stop)
        self.built_from = "1m" if fine is not None else ""
        if fine is None:
            part = slice(first, stop)
            found = vp.by_session(series.times[part], series.column("high_price")[part],
                                  series.column("low_price")[part],
                                  series.column("volume")[part], self._tick, self.chart.tz,
                                  rows, days=days[part])
            self.sessions = [vp.SessionProfile(s.day, s.start + first, s.stop + first,
                                               s.profile) for s in found]
        else:
            self.sessions = []
            for a, b in vp.sessions(days[first:stop]):
                i, j = np.searchsorted(fine["bar"], [a + first, b + first], "left")
                self.sessions.append(vp.SessionProfile(
                    date.fromordinal(int(days[a + first])), a + first, b + first,
                    vp.build(fine["high"][i:j], fine["low"][i:j], fine["volume"][i:j],
                             self._tick, rows)))
        self.item.show_sessions([(s.start - 0.5, float(s.stop - s.start), s.profile)
                                 for s in self.sessions if s.profile is not None])

    # ------------------------------------------------------------------ readout
    def summary(self, index: int) -> str:
        """The profile's figures for the readout with bar `index` under the crosshair."""
        if self.mode == "off":
            return ""
        if self.note:
            return self.note
        if self.mode == "visible":
            profile, name = self.visible, "Profile"
        else:
            found = next((s for s in self.sessions if s.start <= index < s.stop), None)
            if found is None:
                return ""
            profile, name = found.profile, f"Session {found.day:%m-%d}"
        if profile is None:
            return ""
        digits = decimals_for(profile.tick)
        source = ", from 1-minute bars" if self.built_from == "1m" else ""
        return (f"{name} POC {poc_text(profile)}   "
                f"VA {profile.value_area_low:.{digits}f}–{profile.value_area_high:.{digits}f}   "
                f"rows {profile.ticks_per_row} ticks{source}")

    def _hovered(self, index: int) -> None:
        text = self.summary(index) if index >= 0 else ""
        if text:
            self.chart.readout.setText(f"{self.chart.readout.text()}   · {text}")
