"""A workspace keeps the drawings of its charts' symbols: loading it puts back the ones the
symbol lacks, keeps newer ones and deletes none; saved drawings that cannot be read are said,
symbol by symbol, and none of that symbol's is half put back."""

from __future__ import annotations

import json

from PySide6.QtCore import QSettings

from terminal.market.drawings import Anchor, new_drawing
from tests.helpers.gui import WAIT

T0 = 1_695_603_600_000_000_000


def test_a_workspace_puts_back_missing_drawings_and_keeps_newer_ones(qtbot, terminal):
    runtime, window = terminal
    chart = window.open_chart("rb2401.SHFE", "1m")
    qtbot.waitUntil(lambda: not chart.loading, timeout=WAIT)
    book = runtime.drawings.book("rb2401.SHFE")
    kept, changed = new_drawing("hline", [Anchor(T0, 3700.0)]), \
        new_drawing("trend", [Anchor(T0, 3690.0), Anchor(T0 + 600 * 10**9, 3710.0)])
    book.add(kept)
    book.add(changed)
    runtime.drawings.book("ag2412.SHFE").add(new_drawing("vline", [Anchor(T0, 1.0)]))
    path = window.workspaces.save(window, "Drawn")
    saved = json.loads(QSettings(str(path), QSettings.Format.IniFormat).value("drawings/state"))
    assert list(saved) == ["rb2401.SHFE"]           # the charts' symbols only

    book.remove(kept.id)
    newer = changed.moved(0, 5.0)
    book.replace(newer)
    added = new_drawing("vline", [Anchor(T0, 3700.0)])
    book.add(added)
    assert window.workspaces.load(window, "drawn") is not None
    assert window.workspaces.problems == []
    assert {d.id: d for d in book.drawings()} == {newer.id: newer, added.id: added,
                                                   kept.id: kept}
    assert book.undo() and kept.id not in book           # one step puts them back
    reopened = window.chart_docks.charts
    assert reopened, "the workspace's chart is open again"


def test_unreadable_saved_drawings_are_said_and_not_half_put_back(qtbot, terminal):
    runtime, window = terminal
    chart = window.open_chart("rb2401.SHFE", "1m")
    qtbot.waitUntil(lambda: not chart.loading, timeout=WAIT)
    runtime.drawings.book("rb2401.SHFE").add(new_drawing("hline", [Anchor(T0, 3700.0)]))
    path = window.workspaces.save(window, "Bad")
    settings = QSettings(str(path), QSettings.Format.IniFormat)
    good = json.loads(settings.value("drawings/state"))["rb2401.SHFE"]
    broken = [new_drawing("hline", [Anchor(T0, 1.0)]).to_dict(),
              {**good[0], "id": "x2", "style": {"dash": "wavy"}}]
    settings.setValue("drawings/state", json.dumps({"rb2401.SHFE": good, "IF2101.CFFEX": broken}))
    settings.sync()
    runtime.drawings.book("rb2401.SHFE").remove_many(d["id"] for d in good)
    window.workspaces.load(window, "Bad")
    assert [d.id for d in runtime.drawings.book("rb2401.SHFE").drawings()] == \
        [d["id"] for d in good]
    assert runtime.drawings.book("IF2101.CFFEX").drawings() == []
    [problem] = window.workspaces.problems
    assert problem.startswith("IF2101.CFFEX: drawing 2: style.dash")
