"""Dark and light themes: the Fusion style with a palette for every widget, and the colours of
the pyqtgraph charts (background, axes, grid, crosshair, labels).

No application-wide style sheet: Qt would then paint every widget through its style-sheet
style, which costs the busy tables time on every repaint; the palette covers what is needed.

A theme is applied live to the whole application: `apply(name)` sets the palette and restyles
every plot already on screen; widgets with their own chart items (the chart docks) have an
`apply_theme(theme)` method that is called too. Plots made later take the colours from
pyqtgraph's configuration, which `apply` sets, or from `current()`.

Candle colours stay the China convention (red rises, green falls) in both themes: the two
reds and greens were chosen to read on a near-black and on a white background.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChartColors:
    background: str
    axis: str              # axis lines, tick labels and grid lines (drawn faint)
    crosshair: str
    label_text: str        # text of labels on lines (last price, orders)
    label_fill: str        # background of the last-price label
    position: str          # the position's average price line
    marker_outline: str    # outline of the fill markers
    profile: str           # volume profile rows, those in the value area, the POC (opaque:
                           # drawn behind the candles, and cheaper to fill than translucent)
    profile_value: str
    profile_poc: str


@dataclass(frozen=True)
class Theme:
    name: str
    title: str
    window: str
    window_text: str
    base: str
    alternate_base: str
    text: str
    button: str
    button_text: str
    highlight: str
    highlighted_text: str
    link: str
    tooltip_base: str
    tooltip_text: str
    disabled_text: str
    mid: str
    chart: ChartColors


DARK = Theme(
    name="dark", title="Dark",
    window="#1e2329", window_text="#d8dde3", base="#15191e", alternate_base="#1b2026",
    text="#d8dde3", button="#262c33", button_text="#d8dde3", highlight="#2f6fb3",
    highlighted_text="#ffffff", link="#5ea8ff", tooltip_base="#2b3138",
    tooltip_text="#e6e6e6", disabled_text="#6b737d", mid="#3a424c",
    chart=ChartColors(background="#101418", axis="#aab2bc", crosshair="#8a9099",
                      label_text="#e6e6e6", label_fill="#2b3138",
                      position="#f5d90a", marker_outline="#ffffff",
                      profile="#3c434a", profile_value="#346195", profile_poc="#cc8c21"),
)

LIGHT = Theme(
    name="light", title="Light",
    window="#eff1f4", window_text="#1d2125", base="#ffffff", alternate_base="#f5f7f9",
    text="#1d2125", button="#e4e7eb", button_text="#1d2125", highlight="#2f6fb3",
    highlighted_text="#ffffff", link="#1a5fb4", tooltip_base="#ffffdc",
    tooltip_text="#1d2125", disabled_text="#9aa1a9", mid="#b8bec6",
    chart=ChartColors(background="#ffffff", axis="#3c434b", crosshair="#6b737d",
                      label_text="#1d2125", label_fill="#e4e7eb",
                      position="#b07d00", marker_outline="#1d2125",
                      profile="#d4d6d9", profile_value="#93b4d7", profile_poc="#e09851"),
)

THEMES = {DARK.name: DARK, LIGHT.name: LIGHT}
DEFAULT = DARK.name

_current: Theme = DARK


def current() -> Theme:
    """The theme applied last (dark until one is applied)."""
    return _current


def get(name: str) -> Theme:
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"unknown theme {name!r}; expected one of {', '.join(THEMES)}") \
            from None


def palette(theme: Theme) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    for which, color in (
        (role.Window, theme.window), (role.WindowText, theme.window_text),
        (role.Base, theme.base), (role.AlternateBase, theme.alternate_base),
        (role.Text, theme.text), (role.Button, theme.button),
        (role.ButtonText, theme.button_text), (role.Highlight, theme.highlight),
        (role.HighlightedText, theme.highlighted_text), (role.Link, theme.link),
        (role.ToolTipBase, theme.tooltip_base), (role.ToolTipText, theme.tooltip_text),
        (role.PlaceholderText, theme.disabled_text), (role.Mid, theme.mid),
        (role.BrightText, "#ff5555"),
    ):
        p.setColor(which, QColor(color))
    p.setColor(role.Light, QColor(theme.button).lighter(125))
    p.setColor(role.Midlight, QColor(theme.button).lighter(112))
    p.setColor(role.Dark, QColor(theme.mid).darker(130))
    p.setColor(role.Shadow, QColor("#000000"))
    disabled = QPalette.ColorGroup.Disabled
    for which in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(disabled, which, QColor(theme.disabled_text))
    p.setColor(disabled, role.Highlight, QColor(theme.mid))
    return p


def apply(name: str, app: QApplication | None = None) -> Theme:
    """Make `name` the theme of the whole application, live; returns it."""
    global _current  # noqa: PLW0603 - one theme for the whole application
    theme = get(name)
    app = app or QApplication.instance()
    _current = theme
    _configure_pyqtgraph(theme)
    if app is None:
        return theme
    fusion = QStyleFactory.create("Fusion")
    if fusion is not None and app.style().name().lower() != "fusion":   # the same everywhere
        app.setStyle(fusion)
    app.setPalette(palette(theme))
    for widget in app.topLevelWidgets():
        restyle(widget, theme)
    return theme


def _configure_pyqtgraph(theme: Theme) -> bool:
    """pyqtgraph's defaults for plots made from now on; False when pyqtgraph is not loaded
    yet (no plot exists: the docks with plots are built on first use, and pyqtgraph costs a
    tenth of the cold start). Whoever builds plots later calls `restyle` on them."""
    pg = sys.modules.get("pyqtgraph")
    if pg is None:
        return False
    pg.setConfigOptions(background=theme.chart.background, foreground=theme.chart.axis)
    return True


def restyle(root: QWidget, theme: Theme | None = None) -> None:
    """Give every plot under `root` (and `root` itself) the theme's chart colours."""
    theme = theme or _current
    widgets = [root, *root.findChildren(QWidget)]
    if _configure_pyqtgraph(theme):
        import pyqtgraph as pg

        for widget in widgets:
            if isinstance(widget, pg.GraphicsView):
                style_plot_view(widget, theme.chart)
    for widget in widgets:
        method = getattr(widget, "apply_theme", None)
        if callable(method):
            try:
                method(theme)
            except Exception:  # one widget must not keep the others unthemed
                log.exception("%s could not take the %s theme", type(widget).__name__,
                              theme.name)


def style_plot_view(view, colors: ChartColors) -> None:
    """Background, axes, grid and titles of one pyqtgraph view."""
    import pyqtgraph as pg

    view.setBackground(colors.background)
    scene = view.scene()
    if scene is None:
        return
    axis_pen = pg.mkPen(colors.axis)
    for item in scene.items():
        if isinstance(item, pg.AxisItem):
            item.setPen(axis_pen)
            item.setTextPen(pg.mkPen(colors.axis))
        elif isinstance(item, pg.LabelItem) and item.text:
            item.setText(item.text, color=colors.axis)
