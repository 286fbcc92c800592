"""Table models update rows in place, keep their sort live, filter and cap their rows."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt

from terminal.ui.models.table import Column, RecordTableModel, number


@dataclass
class Row:
    key: str
    price: float
    live: bool = True


def model(**kwargs) -> RecordTableModel:
    return RecordTableModel(
        [Column("Key", lambda r: r.key), Column("Price", lambda r: r.price, number(1), True)],
        key=lambda r: r.key, **kwargs,
    )


def test_updates_in_place_with_one_signal_per_batch(qtbot):
    m = model()
    m.upsert([Row("a", 1), Row("b", 2), Row("c", 3)])
    changed, inserted, resets = [], [], []
    m.dataChanged.connect(lambda tl, br, roles: changed.append((tl.row(), br.row())))
    m.rowsInserted.connect(lambda parent, first, last: inserted.append((first, last)))
    m.modelReset.connect(lambda: resets.append(1))
    m.upsert([Row("b", 20), Row("c", 30), Row("d", 4), Row("d", 5)])
    assert changed == [(1, 2)]
    assert inserted == [(3, 3)]
    assert resets == []
    assert m.rowCount() == 4 and m.find("d").price == 5
    assert m.data(m.index(1, 1)) == "20.0"
    assert m.data(m.index(1, 1), Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight


def test_sort_is_kept_as_values_change(qtbot):
    m = model()
    m.upsert([Row("a", 3), Row("b", 1), Row("c", 2)])
    m.sort(1, Qt.SortOrder.AscendingOrder)
    assert [m.record(r).key for r in range(3)] == ["b", "c", "a"]
    held = m.index(m.row_of("a"), 0)
    from PySide6.QtCore import QPersistentModelIndex

    persistent = QPersistentModelIndex(held)
    m.upsert([Row("a", 0)])
    assert [m.record(r).key for r in range(3)] == ["a", "b", "c"]
    assert persistent.row() == 0  # selections follow their record


def test_filter_moves_rows_in_and_out(qtbot):
    m = model(accept=lambda r: r.live)
    m.upsert([Row("a", 1), Row("b", 2)])
    m.upsert([Row("a", 1, live=False)])
    assert [r.key for r in m.records()] == ["b"]
    m.set_filter(None)
    assert sorted(r.key for r in m.records()) == ["a", "b"]


def test_row_cap_drops_the_oldest(qtbot):
    m = model(max_rows=3)
    m.upsert([Row(str(i), i) for i in range(5)])
    assert [r.key for r in m.records()] == ["2", "3", "4"]
    assert m.data(m.index(0, 1)) == "2.0"
    assert number(2)(-0.001) == "0.00"


def test_fast_view_paints_rows_selection_and_text(qtbot):
    from terminal.ui.docks.common import make_table

    m = model()
    m.upsert([Row(f"k{i}", i) for i in range(5)])
    view = make_table(m)
    qtbot.addWidget(view)
    view.resize(400, 200)
    view.show()
    qtbot.waitExposed(view)
    view.selectRow(1)
    image = view.viewport().grab().toImage()
    row_height = view.verticalHeader().sectionSize(0)
    highlight = view.palette().highlight().color()
    assert image.pixelColor(view.columnWidth(0) - 3, row_height + row_height // 2) == highlight
    base = view.palette().base().color()
    # text was drawn: some pixel in row 0, column 0 differs from the background
    assert any(image.pixelColor(x, row_height // 2) != base for x in range(4, 40))


def test_replace_latest_swaps_known_rows_and_appends_new_ones_in_order(qtbot):
    m = model()
    m.replace_latest({k: Row(k, i) for i, k in enumerate("dcab")})
    assert [r.key for r in m.records()] == list("dcab")
    changed = []
    m.dataChanged.connect(lambda tl, br, roles: changed.append((tl.row(), br.row())))
    m.replace_latest({"c": Row("c", 10), "a": Row("a", 20), "e": Row("e", 5)})
    assert [r.key for r in m.records()] == list("dcabe")
    assert m.find("c").price == 10 and m.find("a").price == 20
    assert changed == [(1, 2)]
    texts, colors = m.cells(m.find("a"))
    assert texts == ("a", "20.0") and colors == (None, None)
    assert m.cells(m.find("a")) is m.cells(m.find("a"))  # snapshots: kept until replaced


def test_mirror_view_shows_the_records_and_forwards_sorting(qtbot):
    from terminal.ui.docks.common import make_table, selected_records
    from terminal.ui.models.table import RED

    m = RecordTableModel(
        [Column("Key", lambda r: r.key),
         Column("Price", lambda r: r.price, number(1), True, lambda r: RED if r.price > 2 else None)],
        key=lambda r: r.key,
    )
    m.upsert([Row("a", 3), Row("b", 1), Row("c", 2)])
    view = make_table(m, mirror=True)
    qtbot.addWidget(view)
    view.resize(300, 200)
    view.show()
    qtbot.waitExposed(view)
    mirror = view.model()
    assert [mirror.item(r, 0).text() for r in range(3)] == ["a", "b", "c"]
    assert mirror.item(0, 1).text() == "3.0"
    assert mirror.item(0, 1).foreground().color() == RED.color()

    view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    assert [m.record(r).key for r in range(3)] == ["b", "c", "a"]
    assert [mirror.item(r, 0).text() for r in range(3)] == ["b", "c", "a"]

    m.replace_latest({"b": Row("b", 9)})  # b moves to the bottom once the model re-sorts
    qtbot.waitUntil(lambda: mirror.item(2, 1).text() == "9.0", timeout=2000)
    assert [mirror.item(r, 0).text() for r in range(3)] == ["c", "a", "b"]
    view.selectRow(2)
    assert [r.key for r in selected_records(view)] == ["b"]


def test_mirror_grows_at_once_on_screen_and_paced_below_it(qtbot):
    """Rows appended below a full view join in paced growths (each repaints the whole
    table); rows that land on screen are shown at once; unseen rows hold no items."""
    from terminal.ui.docks.common import make_table

    m = model()
    m.upsert([Row(f"r{i:03}", i) for i in range(5)])
    view = make_table(m, mirror=True)
    qtbot.addWidget(view)
    view.resize(300, 200)
    view.show()
    qtbot.waitExposed(view)
    mirror = view.model()
    assert mirror.rowCount() == 5

    m.upsert([Row(f"r{i:03}", i) for i in range(5, 200)])    # fills the view: at once
    assert mirror.rowCount() == 200
    shown = view.rowAt(view.viewport().height() - 1)
    assert 0 < shown < 50
    assert mirror.item(shown, 0).text() == f"r{shown:03}"
    assert mirror.item(150, 0) is None                        # never on screen: no items

    grown = []
    mirror.rowsInserted.connect(lambda parent, first, last: grown.append(last + 1))
    for i in range(200, 260):                                 # 60 inserts below the view
        m.upsert([Row(f"r{i:03}", i)])
    assert mirror.rowCount() == 200                           # paced, not yet grown
    qtbot.waitUntil(lambda: mirror.rowCount() == 260, timeout=2000)
    assert len(grown) == 1

    m.upsert([Row("r000", -1)])                              # on screen: refreshed promptly
    qtbot.waitUntil(lambda: mirror.item(0, 1).text() == "-1.0", timeout=1000)
    view.scrollToBottom()
    qtbot.waitUntil(lambda: mirror.item(259, 0) is not None
                    and mirror.item(259, 0).text() == "r259", timeout=1000)
