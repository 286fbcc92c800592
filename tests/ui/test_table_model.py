"""Table models update rows in place, keep their sort live, filter and cap their rows."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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


def test_one_batch_with_rows_leaving_and_joining_keeps_every_row_findable(qtbot):
    """A working-orders view gets cancels and new orders in the same batch: the new rows
    must be found (and updated in place) afterwards, not added a second time."""
    m = model(accept=lambda r: r.live)
    m.upsert([Row(k, i) for i, k in enumerate("abcde")])
    m.upsert([Row("b", 1, live=False), Row("d", 3, live=False), Row("f", 5), Row("g", 6)])
    assert [r.key for r in m.records()] == ["a", "c", "e", "f", "g"]
    assert [m.row_of(k) for k in "acefg"] == [0, 1, 2, 3, 4]
    assert m.find("f").price == 5 and m.find("b") is None
    m.upsert([Row("f", 50), Row("g", 60, live=False)])
    assert [(r.key, r.price) for r in m.records()] == [("a", 0), ("c", 2), ("e", 4), ("f", 50)]


def test_a_table_sorted_newest_first_takes_new_rows_on_top_without_resorting(qtbot):
    """Sorted by a value that only grows (time), newest first: a new row is one insert at
    row 0 (no layout change, no sort), a changed row stays, and rows keep their keys."""
    m = model()
    m.upsert([Row(f"r{i}", i) for i in range(5)])
    m.sort(1, Qt.SortOrder.DescendingOrder)
    assert [r.key for r in m.records()] == ["r4", "r3", "r2", "r1", "r0"]
    layouts, inserted, changed = [], [], []
    m.layoutChanged.connect(lambda *a: layouts.append(1))
    m.rowsInserted.connect(lambda parent, first, last: inserted.append((first, last)))
    m.dataChanged.connect(lambda tl, br, roles: changed.append((tl.row(), br.row())))
    m.upsert([Row("r5", 5), Row("r1", 1, live=False)])     # one new, one changed in place
    assert layouts == [] and inserted == [(0, 0)] and changed == [(3, 3)]   # before the insert
    assert [r.key for r in m.records()] == ["r5", "r4", "r3", "r2", "r1", "r0"]
    assert [m.row_of(k) for k in ("r5", "r0")] == [0, 5] and m.record(0).key == "r5"
    assert [r.key for r in m.records_between(1, 2)] == ["r4", "r3"]
    m.sort(1, Qt.SortOrder.AscendingOrder)
    assert [r.key for r in m.records()] == ["r0", "r1", "r2", "r3", "r4", "r5"]
    m.sort(-1)
    assert [r.key for r in m.records()] == ["r0", "r1", "r2", "r3", "r4", "r5"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(descending=st.booleans(),
       steps=st.lists(st.lists(st.tuples(st.integers(0, 14), st.integers(0, 40),
                                         st.booleans()), max_size=8), max_size=25))
def test_a_sorted_filtered_table_always_matches_a_full_sort(qtbot, descending, steps):
    """Whatever arrives (new rows, values that move them, rows leaving the filter), the rows
    are the accepted records in sort order, found where they are shown."""
    m = model(accept=lambda r: r.live)
    m.sort(1, Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder)
    latest: dict[str, Row] = {}
    for batch in steps:
        rows = [Row(f"k{key}", float(price), live) for key, price, live in batch]
        m.upsert(rows)
        latest.update((r.key, r) for r in rows)
        shown = list(m.records())
        expected = sorted((r for r in latest.values() if r.live), key=lambda r: r.price,
                          reverse=descending)
        assert [r.price for r in shown] == [r.price for r in expected]
        assert sorted(r.key for r in shown) == sorted(r.key for r in expected)
        for row, record in enumerate(shown):
            assert m.row_of(record.key) == row and m.record(row) is record
            assert m.find(record.key) is latest[record.key]


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
    from terminal.ui.colours import ERROR_BRUSH as RED

    m = RecordTableModel(
        [Column("Key", lambda r: r.key),
         Column("Price", lambda r: r.price, number(1), True,
                lambda r: RED if r.price > 2 else None)],
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


def shown_mirror(qtbot, m: RecordTableModel, height: int):
    from terminal.ui.docks.common import make_table

    view = make_table(m, mirror=True)
    qtbot.addWidget(view)
    view.resize(300, height)
    view.show()
    qtbot.waitExposed(view)
    return view, view.model()


def test_mirror_grows_promptly_on_screen_and_paced_below_it(qtbot):
    """Rows appended below a full view join in paced growths (each repaints the whole
    table); rows that land on screen join with the next reshape; unseen rows hold no items."""
    m = model()
    m.upsert([Row(f"r{i:03}", i) for i in range(5)])
    view, mirror = shown_mirror(qtbot, m, 200)
    assert mirror.rowCount() == 5

    m.upsert([Row(f"r{i:03}", i) for i in range(5, 200)])    # fills the view: next reshape
    qtbot.waitUntil(lambda: mirror.rowCount() == 200, timeout=1000)
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


def test_mirror_reshapes_are_paced_and_the_selection_follows_its_records(qtbot):
    """A working-orders view loses rows all the time: the mirror joins removals in paced
    reshapes, rows keep what they show meanwhile, and actions and the selection follow the
    records the trader sees, never the row numbers."""
    from terminal.ui import mirror_view
    from terminal.ui.docks.common import selected_records

    m = model(accept=lambda r: r.live)
    m.upsert([Row(f"r{i:02}", i) for i in range(40)])
    view, mirror = shown_mirror(qtbot, m, 400)
    assert mirror.rowCount() == 40 and mirror.item(5, 0).text() == "r05"

    view.selectRow(5)
    assert [r.key for r in selected_records(view)] == ["r05"]
    reshapes = []
    # (when the view reshaped, by its own clock: the test's would add how long the GIL or
    # the machine kept the slot waiting)
    mirror.rowsRemoved.connect(lambda parent, first, last: reshapes.append(view._last_reshape))
    for i in (0, 2, 3, 30, 31, 32):                  # six leave, one batch each, no waiting
        m.upsert([Row(f"r{i:02}", i, live=False)])
    assert m.rowCount() == 34 and mirror.rowCount() == 40 and not reshapes
    assert mirror.item(5, 0).text() == "r05"         # rows keep what they showed ...
    assert [r.key for r in selected_records(view)] == ["r05"]   # ... and act on it
    qtbot.waitUntil(lambda: mirror.rowCount() == 34, timeout=1000)
    assert len(reshapes) == 1                        # one reshape for the six removals
    assert mirror.item(2, 0).text() == "r05"         # r05 moved up three rows ...
    assert [r.key for r in selected_records(view)] == ["r05"]   # ... and stayed selected
    assert view.currentIndex().row() == 2
    assert [mirror.item(r, 0).text() for r in range(4)] == ["r01", "r04", "r05", "r06"]

    for i in (1, 4):                                 # the next removals wait out the gap
        m.upsert([Row(f"r{i:02}", i, live=False)])
    qtbot.waitUntil(lambda: mirror.rowCount() == 32, timeout=1000)
    assert len(reshapes) == 2
    assert reshapes[1] - reshapes[0] >= 1 / mirror_view.MAX_RESHAPES_PER_SECOND
    assert [r.key for r in selected_records(view)] == ["r05"]
    assert mirror.item(0, 0).text() == "r05"

    m.upsert([Row("r05", 5, live=False)])            # the selected row itself leaves
    qtbot.waitUntil(lambda: mirror.rowCount() == 31, timeout=1000)
    assert selected_records(view) == [] and mirror.item(0, 0).text() == "r06"


def test_mirror_shows_a_filter_the_trader_picks_at_once_even_right_after_a_reshape(qtbot):
    """Reshapes from the feed wait out their gap; a filter or sort the trader asks for is
    shown before control returns, sorted, so "Cancel selected" acts on the row selected."""
    from terminal.ui.docks.common import selected_records

    m = model(accept=lambda r: True)
    m.upsert([Row(f"r{i:02}", i, live=i % 2 == 0) for i in range(10)])
    view, mirror = shown_mirror(qtbot, m, 400)
    view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    assert [mirror.item(r, 0).text() for r in range(3)] == ["r09", "r08", "r07"]
    m.upsert([Row("r00", 0, live=False)])            # a reshape from the feed is now due ...
    m.upsert([Row("r10", 10)])
    assert mirror.rowCount() == 10                   # ... and waits

    m.set_filter(lambda r: r.live)                   # the trader's "working only"
    assert mirror.rowCount() == m.rowCount() == 5
    assert [mirror.item(r, 0).text() for r in range(5)] == ["r10", "r08", "r06", "r04", "r02"]
    view.selectRow(m.row_of("r04"))
    assert [r.key for r in selected_records(view)] == ["r04"]


def time_now() -> float:
    import time
    return time.perf_counter()
