"""The drawing layer on a chart: anchors mapped once and re-mapped only where a new bar can
move them, every kind painted, hit testing of handles and bodies, and every chart of a symbol
following its book."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from terminal.core.timezone import CHINA_TZ
from terminal.market.bar_positions import NS_PER_MINUTE
from terminal.market.drawings import ANCHORS, KINDS, Anchor, DrawingBook, new_drawing
from terminal.ui.chart import drawing_layer
from terminal.ui.chart.widget import ChartWidget
from terminal.ui.docks.chart import BarPositions, DrawingLayer

T0 = 1_695_603_600_000_000_000       # 2023-09-25 09:00 +08:00
BARS = 300


def columns(count: int = BARS) -> dict:
    price = 3700 + np.cumsum(np.sin(np.arange(count) / 7.0))
    return {"datetime": T0 + np.arange(count, dtype=np.int64) * NS_PER_MINUTE,
            "open_price": price, "high_price": price + 2, "low_price": price - 2,
            "close_price": price + 0.5, "volume": np.full(count, 10.0)}


@pytest.fixture
def chart(qtbot):
    widget = ChartWidget(CHINA_TZ)
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.set_history(columns())
    layer = DrawingLayer(BarPositions(widget.series, NS_PER_MINUTE, False, CHINA_TZ))
    widget.price.addItem(layer, ignoreBounds=True)
    widget.show()
    qtbot.waitExposed(widget)
    return widget, layer


def at(bar: int, price: float) -> Anchor:
    return Anchor(T0 + bar * NS_PER_MINUTE, price)


def show(widget: ChartWidget, bars: tuple, prices: tuple) -> None:
    """The view on those bars and prices (a change of X fits Y to the bars: Y after)."""
    box = widget.price.getViewBox()
    box.setXRange(*bars, padding=0)
    box.setYRange(*prices, padding=0)


def image(widget: ChartWidget) -> QImage:
    widget.graphics.repaint()
    return widget.graphics.grab().toImage()


def test_every_kind_is_painted(chart):
    widget, layer = chart
    book = DrawingBook("rb2401.SHFE")
    layer.show(book, "1m")
    show(widget, (100, 300), (3600, 3800))
    before = image(widget)
    for number, kind in enumerate(KINDS):
        anchors = [at(150 + 10 * i + number, 3650 + 30 * i + 5 * number)
                   for i in range(ANCHORS[kind])]
        book.add(new_drawing(kind, anchors, text="note" if kind == "text" else "",
                             locked=kind == "trend"))
        painted = image(widget)
        assert painted != before, kind           # each drawing changes the picture
        before = painted
    layer.select(book.drawings()[0].id)
    layer.set_bells({book.drawings()[3].id})
    assert image(widget) != before


def test_a_new_bar_remaps_only_anchors_after_the_last_bar(chart, monkeypatch):
    widget, layer = chart
    book = DrawingBook("rb2401.SHFE")
    for bar in range(0, 280, 4):
        book.add(new_drawing("trend", [at(bar, 3700.0), at(bar + 3, 3710.0)]))
    future = new_drawing("trend", [at(290, 3700.0), at(BARS + 5, 3720.0)])
    book.add(future)
    layer.show(book, "1m")
    assert layer.x_of(at(BARS + 5, 0).time_ns) == BARS + 5       # extrapolated
    mapped = []
    real = layer.positions.x_of
    monkeypatch.setattr(layer.positions, "x_of", lambda times: mapped.append(len(times))
                        or real(times))
    last = columns(BARS + 1)
    values = {name: float(last[name][-1]) for name in last if name != "datetime"}
    widget.put_bar(int(last["datetime"][-1] - NS_PER_MINUTE), values)   # in place
    layer.bars_changed()
    assert mapped == []
    widget.put_bar(int(last["datetime"][-1]), values)                   # a new bar
    layer.bars_changed()
    assert mapped == [1]                      # the future anchor only, of 142
    index = book.drawings().index(future)
    assert layer._x[layer._starts[index] + 1] == BARS + 5


def test_hit_finds_handles_and_bodies(chart):
    widget, layer = chart
    book = DrawingBook("rb2401.SHFE")
    low = new_drawing("hline", [at(200, 3690.0)])
    trend = new_drawing("trend", [at(220, 3680.0), at(260, 3720.0)])
    book.add(low)
    book.add(trend)
    layer.show(book, "1m")
    show(widget, (150, 300), (3650, 3750))
    assert layer.hit(170.0, 3690.0, 5) == (low.id, None)            # far from its anchor
    assert layer.hit(240.0, 3700.0, 5) == (trend.id, None)          # the middle of the line
    assert layer.hit(240.0, 3730.0, 5) is None
    assert layer.hit(220.0, 3680.0, 5) == (trend.id, 0)
    assert layer.hit(260.0, 3720.0, 5) == (trend.id, 1)
    anchor = layer.anchor_at(240.4, 3701.5)
    assert anchor == Anchor(T0 + 240 * NS_PER_MINUTE, 3701.5)


def test_every_chart_of_a_symbol_follows_its_book(chart, qtbot):
    _, layer = chart
    other = ChartWidget(CHINA_TZ)
    qtbot.addWidget(other)
    other.set_history(columns())
    second = DrawingLayer(BarPositions(other.series, NS_PER_MINUTE, False, CHINA_TZ))
    other.price.addItem(second, ignoreBounds=True)
    book = DrawingBook("rb2401.SHFE")
    layer.show(book, "1m")
    second.show(book, "5m")
    book.add(new_drawing("vline", [at(100, 3700.0)]))
    assert len(layer._drawings) == len(second._drawings) == 1
    second.set_book(None)
    book.undo()
    assert len(layer._drawings) == 0 and len(second._drawings) == 0
    book.redo()
    assert len(second._drawings) == 0                  # no longer listening


def test_rays_and_lines_outside_the_view_are_culled(chart):
    _, layer = chart
    book = DrawingBook("rb2401.SHFE")
    away = new_drawing("ray", [at(200, 3700.0), at(190, 3710.0)])      # up and to the left
    towards = new_drawing("ray", [at(100, 3700.0), at(110, 3701.0)])   # right, into view
    above = new_drawing("extended", [at(100, 3800.0), at(110, 3801.0)])
    upright = new_drawing("ray", [at(250, 3650.0), at(250, 3640.0)])   # straight down
    for drawing in (away, towards, above, upright):
        book.add(drawing)
    layer.show(book, "1m")
    crossing = layer._lines_cross(220.0, 300.0, 3690.0, 3720.0)
    assert crossing.tolist() == [False, True, False, False]
    assert layer._lines_cross(240.0, 300.0, 3600.0, 3645.0).tolist() == [False, False, False,
                                                                         True]


def drawn_everywhere(widget: ChartWidget, layer: DrawingLayer) -> DrawingBook:
    """A book with every kind, on screen, shown by `layer`."""
    book = DrawingBook("rb2401.SHFE")
    for number, kind in enumerate(KINDS):
        anchors = [at(150 + 10 * i + number, 3650 + 30 * i + 5 * number)
                   for i in range(ANCHORS[kind])]
        book.add(new_drawing(kind, anchors, text="note" if kind == "text" else ""))
    layer.show(book, "1m")
    show(widget, (100, 300), (3600, 3800))
    return book


def pixels(picture: QImage) -> np.ndarray:
    picture = picture.convertToFormat(QImage.Format.Format_ARGB32)
    return np.frombuffer(picture.constBits(), np.uint8).reshape(
        picture.height(), picture.width(), 4).astype(int)


def counted(monkeypatch, layer: DrawingLayer) -> tuple[list, list]:
    """Calls of the layer's drawing straight, and of each paint whether it copied its picture
    and the parts of the viewport it copied."""
    draws, pictures = [], []
    draw, picture = layer._draw, layer._picture.paint
    monkeypatch.setattr(layer, "_draw", lambda *a, **k: draws.append(a) or draw(*a, **k))
    monkeypatch.setattr(layer._picture, "paint",
                        lambda *a: pictures.append((picture(*a), a[4])) or pictures[-1][0])
    return draws, pictures


def test_a_repaint_that_changes_nothing_copies_the_drawings_picture(chart, monkeypatch):
    widget, layer = chart
    drawn_everywhere(widget, layer)
    draws, pictures = counted(monkeypatch, layer)
    widget.graphics.viewport().repaint()     # a new view (a pan frame): drawn straight
    assert (len(draws), pictures[-1][0]) == (1, False) and not layer._picture.kept
    widget.graphics.viewport().repaint()     # the same again: the picture is made, copied
    assert (len(draws), pictures[-1][0]) == (2, True)
    copied = widget.graphics.grab().toImage()
    assert (len(draws), pictures[-1][0]) == (2, True)          # copied, not drawn
    monkeypatch.setattr(layer._picture, "paint", lambda *a: False)
    straight = widget.graphics.grab().toImage()
    # as drawn straight: fills one level apart at most (alpha rounding), a few stray pixels
    # where Qt cut a line at the picture's edge instead of the window's
    apart = np.abs(pixels(copied) - pixels(straight)).max(axis=2)
    assert np.count_nonzero(apart > 1) <= 20
    layer.select(layer._drawings[0].id)                     # a change: drawn again
    assert widget.graphics.grab().toImage() != copied


def test_a_live_bar_repaints_the_drawings_from_their_picture(chart, monkeypatch, qtbot):
    widget, layer = chart
    book = drawn_everywhere(widget, layer)
    book.add(new_drawing("trend", [at(280, 3700.0), at(BARS + 5, 3720.0)]))   # to the future
    widget.graphics.viewport().repaint()
    widget.graphics.viewport().repaint()     # the picture is made
    QApplication.processEvents()             # and what the layout had left to repaint
    segments, version = layer._segments(), layer.version
    draws, pictures = counted(monkeypatch, layer)
    last = columns(BARS + 1)
    values = {name: float(last[name][-2]) for name in last if name != "datetime"}
    values["close_price"] += 0.2                                        # a tick
    widget.put_bar(int(last["datetime"][-2]), values)                   # in place
    layer.bars_changed()
    qtbot.waitUntil(lambda: bool(pictures))   # the last bar's strip and column repainted
    assert draws == [] and all(copied for copied, _ in pictures)
    strips = sum(part.width() * part.height() for _, parts in pictures for part in parts)
    assert 0 < strips < widget.graphics.viewport().width() * 40      # copied a few strips
    assert layer._segments() is segments and layer.version == version
    # a new bar at the next minute moves no anchor (the future one stays where it was, bar
    # BARS + 5): nothing of the drawings is made again
    widget.put_bar(int(last["datetime"][-1]), values)
    layer.bars_changed()
    assert layer._segments() is segments and layer.version == version
    # an anchor inside the next minute moves onto the bar holding it when that bar comes
    inside = new_drawing("trend", [at(250, 3700.0), Anchor(T0 + (BARS + 1) * NS_PER_MINUTE
                                                           + 30_000_000_000, 3720.0)])
    book.add(inside)
    assert layer.x_of(inside.anchors[1].time_ns) == BARS + 1.5
    segments, version = layer._segments(), layer.version
    widget.put_bar(T0 + (BARS + 1) * NS_PER_MINUTE, values)
    layer.bars_changed()
    assert layer.version > version and layer._segments() is not segments
    assert layer.x_of(inside.anchors[1].time_ns) == BARS + 1


def test_hit_tests_only_the_drawings_within_reach(chart, monkeypatch):
    widget, layer = chart
    book = DrawingBook("rb2401.SHFE")
    for bar in range(0, 140, 2):                               # far left of the point
        book.add(new_drawing("trend", [at(bar, 3650.0), at(bar + 5, 3660.0)]))
    note = new_drawing("text", [at(240, 3700.0)], text="a note")
    across = new_drawing("extended", [at(100, 3650.0), at(110, 3651.0)])   # passes below
    book.add(note)
    book.add(across)
    layer.show(book, "1m")
    show(widget, (150, 300), (3600, 3800))
    tested = []
    near = drawing_layer.near
    monkeypatch.setattr(drawing_layer, "near", lambda drawing, *a: tested.append(drawing.kind)
                        or near(drawing, *a))
    right, down = layer.pixelWidth() * 30, layer.pixelHeight() * 8
    assert layer.hit(240 + right, 3700.0 - down) == (note.id, None)    # on the note's text
    assert tested == ["text"]
    assert layer.hit(200.0, 3750.0) is None and tested == ["text"]
    assert layer.hit(200.0, 3660.0) == (across.id, None)          # 3650 + 0.1 a bar


def test_an_svg_export_keeps_the_drawings_as_lines(chart, tmp_path):
    from pyqtgraph.exporters import SVGExporter

    widget, layer = chart
    drawn_everywhere(widget, layer)
    for _ in range(2):                 # twice alike: no picture made of them for the file
        SVGExporter(widget.price.scene()).export(str(tmp_path / "chart.svg"))
    assert "<image" not in (tmp_path / "chart.svg").read_text(encoding="utf-8")
