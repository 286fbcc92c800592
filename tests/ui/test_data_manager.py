"""The Data dock: the catalogue tree, the import wizard (detection, preview, progress, rejected
files), delete with its confirmation, export to CSV and Parquet, and the data view."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox
from vnpy.trader.constant import Exchange

from terminal.services.resample import resample_targets
from terminal.storage.csv_import import import_file
from terminal.storage.market_store import CHINA_TZ, MarketStore
from terminal.ui.colours import ERROR_BRUSH
from terminal.ui.docks.data_manager import DataManagerDock, export_target, interval_order
from terminal.ui.models.series import SeriesTableModel

from tests.helpers import SHARED_DATA

WAIT = 20_000  # ms
DAMAGED_COLOUR = ERROR_BRUSH.color()
RB_FILE = "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
RB = ("rb2401", "SHFE", "1m")
needs_data = pytest.mark.skipif(not (SHARED_DATA / RB_FILE).is_file(),
                                reason=f"shared market data not found at {SHARED_DATA}")


@pytest.fixture
def dock(qtbot, store):
    widget = DataManagerDock(store)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.pool.waitForDone(WAIT)


def wait_done(qtbot, job):
    assert job is not None
    qtbot.waitUntil(lambda: job.done, timeout=WAIT)


def tree_rows(dock) -> list[tuple[str, ...]]:
    """Every tree row as (path..., rows), e.g. ("SHFE", "rb2401", "1m", "1,830")."""
    rows = []

    def walk(item, path):
        path = (*path, item.text(0))
        rows.append((*path, item.text(1)))
        for i in range(item.childCount()):
            walk(item.child(i), path)

    for top in range(dock.tree.topLevelItemCount()):
        walk(dock.tree.topLevelItem(top), ())
    return rows


def model_rows(model, count=None) -> list[list[str]]:
    rows = model.rowCount() if count is None else count
    return [[model.data(model.index(r, c)) for c in range(model.columnCount())]
            for r in range(rows)]


def bad_file(tmp_path):
    path = tmp_path / "cn_fut_SHFE_rb2401_bad.csv"
    path.write_text(
        "datetime,open,high,low,close,volume\n"
        "2023-01-03 09:01:00,100,101,99,100,5\n"
        "2023-01-03 09:02:00,100,98,99,100,5\n"
        "2023-01-03 09:03:00,100,101,99,100,5\n"
    )
    return path


def import_rb(store):
    import_file(store, SHARED_DATA / RB_FILE)


# ---------------------------------------------------------------------------- import wizard
@needs_data
def test_wizard_detects_previews_and_imports_into_the_tree(qtbot, terminal):
    runtime, window = terminal
    dock = window.data_manager
    assert window.docks["data_manager"].windowTitle() == "Data"
    assert dock.store is runtime.store
    assert tree_rows(dock) == []

    wizard = dock.open_import(SHARED_DATA / RB_FILE)
    qtbot.waitUntil(lambda: wizard.ready, timeout=WAIT)
    assert wizard.isVisible()
    # the detected settings, shown for the trader to check
    assert wizard.symbol_edit.text() == "rb2401"
    assert wizard.exchange_box.currentData() == Exchange.SHFE
    assert wizard.kind_box.currentData() == "bar"
    assert wizard.interval_box.currentText() == "1m"
    assert wizard.label_box.currentData() is True  # end-labelled
    assert wizard.format_box.currentText() == "%Y-%m-%d %H:%M:%S"
    assert wizard.timezone_box.currentText() == "Asia/Shanghai"
    assert wizard.columns()["close_price"] == "close_price"
    assert wizard.columns()["datetime"] == "datetime"
    # the preview: parsed rows as stored, the newest-first file's first line re-stamped by
    # the start of its minute
    preview = wizard.preview_model
    assert preview.rowCount() == 50
    assert preview.titles[:6] == ["Line", "Time", "Open", "High", "Low", "Close"]
    assert model_rows(preview, 1)[0][:7] == ["2", "2023-10-10 14:59:00", "3,609", "3,610",
                                             "3,608", "3,610", "10,220"]
    assert wizard.problems == []

    job = wizard.start_import()
    wait_done(qtbot, job)
    assert wizard.rows_imported == 1830
    assert wizard.progress_bar.value() == 100
    assert "Imported 1,830 rows of rb2401.SHFE 1m" in wizard.stage_label.text()
    assert ("SHFE", "rb2401", "1m", "1,830") in tree_rows(dock)
    leaf = dock.item_for(*RB)
    assert (leaf.text(2), leaf.text(3)) == ("2023-09-25 09:00:00", "2023-10-10 14:59:00")
    assert dock.selected_key() == RB
    assert [(s.symbol, s.count) for s in runtime.store.series()] == [("rb2401", 1830)]
    wizard.reject()


@needs_data
def test_wizard_settings_change_the_preview(qtbot, dock):
    wizard = dock.open_import(SHARED_DATA / RB_FILE)
    qtbot.waitUntil(lambda: wizard.ready, timeout=WAIT)
    wizard.label_box.setCurrentIndex(wizard.label_box.findData(False))  # start-labelled
    assert wizard.update_preview()
    assert model_rows(wizard.preview_model, 1)[0][1] == "2023-10-10 15:00:00"
    wizard.timezone_box.setCurrentText("UTC")  # the file's times are UTC: +8 h in China
    assert wizard.update_preview()
    assert model_rows(wizard.preview_model, 1)[0][1] == "2023-10-10 23:00:00"
    wizard.set_column("close_price", "open_price")
    assert wizard.update_preview()
    row = model_rows(wizard.preview_model, 1)[0]
    assert row[5] == row[2] == "3,609"
    for zone in ("Mars/Olympus", "Asia"):          # "Asia" is a folder of zone files
        wizard.timezone_box.setCurrentText(zone)
        assert not wizard.update_preview()
        assert "unknown time zone" in wizard.message_label.text()
        assert wizard.start_import() is None
    wizard.reject()


def test_a_bad_file_names_its_row_and_writes_nothing(qtbot, dock, store, tmp_path):
    wizard = dock.open_import(bad_file(tmp_path))
    qtbot.waitUntil(lambda: wizard.ready, timeout=WAIT)
    # the preview already shows the bad line
    assert [(p.line, p.message) for p in wizard.problems] == [(3, "high is below low"),
                                                              (3, "open is outside high/low"),
                                                              (3, "close is outside high/low")]
    job = wizard.start_import()
    wait_done(qtbot, job)
    assert wizard.rows_imported is None
    assert "Rejected" in wizard.message_label.text() and "nothing" in wizard.message_label.text()
    table = wizard.problems_table
    listed = [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]
    assert ("3", "high is below low") in listed
    assert store.series() == []
    assert tree_rows(dock) == []
    assert not (store.root / "bars").exists() or not any((store.root / "bars").rglob("*.parquet"))
    wizard.reject()


def test_unrecognised_file_can_be_mapped_by_hand(qtbot, dock, store, tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("when,o,h,l,c,qty\n"
                    "2024-01-02 09:00:00,10,12,9,11,3\n"
                    "2024-01-02 09:01:00,11,13,10,12,4\n")
    wizard = dock.open_import(path)
    qtbot.waitUntil(lambda: wizard.ready, timeout=WAIT)
    assert "not recognised" in wizard.message_label.text()
    for field, header in (("datetime", "when"), ("open_price", "o"), ("high_price", "h"),
                          ("low_price", "l"), ("close_price", "c"), ("volume", "qty")):
        wizard.set_column(field, header)
    wizard.format_box.setCurrentText("%Y-%m-%d %H:%M:%S")
    assert wizard.update_preview()
    assert model_rows(wizard.preview_model)[1][:7] == ["3", "2024-01-02 09:01:00", "11", "13",
                                                       "10", "12", "4"]
    assert wizard.start_import() is None  # no symbol or exchange yet
    assert "symbol" in wizard.message_label.text()
    wizard.symbol_edit.setText("ag2406")
    wizard.exchange_box.setCurrentIndex(wizard.exchange_box.findData(Exchange.SHFE))
    wait_done(qtbot, wizard.start_import(check_only=True))  # as `data import --dry-run`
    assert "2 rows of ag2406.SHFE 1m would be imported" in wizard.message_label.text()
    assert store.series() == [] and wizard.rows_imported is None
    wait_done(qtbot, wizard.start_import())
    assert wizard.rows_imported == 2
    assert ("SHFE", "ag2406", "1m", "2") in tree_rows(dock)
    wizard.reject()


def test_an_import_can_be_cancelled_before_the_write(qtbot, dock, store, tmp_path, monkeypatch):
    path = tmp_path / "cn_fut_SHFE_rb2401_ok.csv"
    path.write_text("datetime,open,high,low,close,volume\n"
                    "2023-01-03 09:01:00,100,101,99,100,5\n")
    wizard = dock.open_import(path)
    qtbot.waitUntil(lambda: wizard.ready, timeout=WAIT)
    import terminal.ui.dialogs.import_wizard as module

    real = module.import_csv

    def slow(*args):
        wizard.job.cancel()  # the trader presses Cancel while the file is read
        return real(*args)

    monkeypatch.setattr(module, "import_csv", slow)
    wait_done(qtbot, wizard.start_import())
    assert wizard.stage_label.text() == "Cancelled, nothing written"
    assert wizard.import_button.isEnabled()
    assert store.series() == []
    wizard.reject()


# ---------------------------------------------------------------------------- the tree
def test_tree_groups_exchange_symbol_interval(qtbot, dock, store):
    ns = pd.to_datetime(["2024-01-02 01:00", "2024-01-02 01:01"]).as_unit("ns").asi8
    bars = {"datetime": ns, **{k: [1.0, 2.0] for k in ("open_price", "high_price",
                                                        "low_price", "close_price")}}
    store.save_columns("rb2405", Exchange.SHFE, "5m", bars)
    store.save_columns("rb2405", Exchange.SHFE, "1m", bars)
    store.save_columns("rb2405", Exchange.SHFE, "tick", {"datetime": ns, "last_price": [1, 2]})
    store.save_columns("IF2403", Exchange.CFFEX, "d", bars)
    dock.refresh()
    assert tree_rows(dock) == [
        ("CFFEX", "2"), ("CFFEX", "IF2403", "2"), ("CFFEX", "IF2403", "d", "2"),
        ("SHFE", "6"), ("SHFE", "rb2405", "6"), ("SHFE", "rb2405", "tick", "2"),
        ("SHFE", "rb2405", "1m", "2"), ("SHFE", "rb2405", "5m", "2"),
    ]
    assert sorted(["d", "1h", "tick", "30m", "1m", "w"], key=interval_order) == \
        ["tick", "1m", "30m", "1h", "d", "w"]
    assert "4 series, 8 rows" in dock.status_label.text()
    assert not dock.buttons["Delete"].isEnabled()
    assert dock.select_series("rb2405", "SHFE", "5m")
    assert dock.buttons["Delete"].isEnabled() and dock.buttons["Export"].isEnabled()


# ---------------------------------------------------------------------------- delete
@needs_data
def test_delete_asks_naming_the_series_and_rows_then_removes_it(qtbot, dock, store):
    import_rb(store)
    dock.refresh()
    assert dock.select_series(*RB)
    box = dock.request_delete()
    assert box.isVisible()
    assert "rb2401.SHFE 1m" in box.text() and "1,830 rows" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert len(store.series()) == 1 and dock.item_for(*RB) is not None

    dock.request_delete().button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: dock.item_for(*RB) is None, timeout=WAIT)
    assert store.series() == []
    assert store.load_table("rb2401", Exchange.SHFE, "1m").num_rows == 0
    assert tree_rows(dock) == []
    assert "Deleted 1,830 rows" in dock.status_label.text()


# ---------------------------------------------------------------------------- export
@needs_data
def test_export_to_csv_and_parquet_reads_back(qtbot, dock, store, tmp_path, monkeypatch):
    import_rb(store)
    dock.refresh()
    wait_done(qtbot, dock.export_series(RB, tmp_path / "rb.csv"))
    frame = pd.read_csv(tmp_path / "rb.csv")
    assert len(frame) == 1830
    assert frame.iloc[0]["datetime"] == "2023-09-25 09:00:00.000"
    assert frame.iloc[0]["open_price"] == 3778.0
    wait_done(qtbot, dock.export_series(RB, tmp_path / "rb.parquet"))
    table = pq.read_table(tmp_path / "rb.parquet")
    assert table.num_rows == 1830
    assert table.column("close_price")[-1].as_py() == 3610.0
    assert "Exported 1,830 rows" in dock.status_label.text()

    # through the file dialog: the chosen format's suffix is added when the name has none
    dock.select_series(*RB)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(
        lambda *a, **k: (str(tmp_path / "picked"), "Parquet files (*.parquet)")))
    wait_done(qtbot, dock.request_export())
    assert pq.read_table(tmp_path / "picked.parquet").num_rows == 1830
    assert export_target("a/b.CSV", "Parquet files (*.parquet)").name == "b.CSV"
    assert export_target("a/b", "CSV files (*.csv)").name == "b.csv"


def test_resample_from_the_dock_adds_the_longer_series(qtbot, dock, store):
    import_rb(store)
    dock.refresh()
    assert resample_targets("1m") == ["5m", "15m", "30m", "1h", "4h", "d"]
    assert resample_targets("30m") == ["1h", "4h", "d"] and resample_targets("tick") == []
    wait_done(qtbot, dock.resample_series(RB, "1h"))
    assert dock.item_for("rb2401", "SHFE", "1h") is not None
    assert dock.selected_key() == ("rb2401", "SHFE", "1h")
    assert "Wrote 38 1h bars" in dock.status_label.text()
    assert store.load_table("rb2401", Exchange.SHFE, "1h").num_rows == 38


def test_export_errors_are_shown_not_raised(qtbot, dock, store, tmp_path):
    wait_done(qtbot, dock.export_series(("rb2401", "SHFE", "1m"), tmp_path / "none.csv"))
    assert dock.error_box is not None and dock.error_box.isVisible()
    assert "no 1m data for rb2401.SHFE" in dock.error_box.text()
    assert not (tmp_path / "none.csv").exists()
    dock.error_box.close()


# ---------------------------------------------------------------------------- data view
@needs_data
def test_data_view_shows_the_series_rows(qtbot, dock, store):
    import_rb(store)
    dock.refresh()
    dock.select_series(*RB)
    wait_done(qtbot, dock.view_series())
    model = dock.view_model
    assert model.rowCount() == 1830
    assert model.titles == ["Time", "Open", "High", "Low", "Close", "Volume", "Turnover",
                            "Open interest"]
    assert model_rows(model, 1)[0] == ["2023-09-25 09:00:00", "3,778", "3,785", "3,778",
                                       "3,779", "28,695", "1,084,838,520", "1,650,408"]
    assert model.data(model.index(1829, 0)) == "2023-10-10 14:59:00"
    assert "1,830 rows" in dock.view_label.text()


def test_data_view_of_ticks_and_a_corrupt_series(qtbot, dock, store):
    ns = pd.to_datetime(["2024-01-02 01:00:00.500", "2024-01-02 01:00:01.000"]).as_unit("ns").asi8
    store.save_columns("IF2401", Exchange.CFFEX, "tick", {
        "datetime": ns, "last_price": [3500.2, 3500.4], "last_volume": [10, 2], "volume": [10, 12],
        "bid_price_1": [3500.0, 3500.2], "ask_price_1": [3500.4, 3500.6],
        "bid_price_2": [3499.8, 3500.0]})
    dock.refresh()
    wait_done(qtbot, dock.view_series(("IF2401", "CFFEX", "tick")))
    model = dock.view_model
    assert model.rowCount() == 2
    assert model.titles[:4] == ["Time", "Last", "Last volume", "Volume"]
    assert "Bid price 2" in model.titles  # deeper levels shown when they hold data
    assert "Ask price 5" not in model.titles
    first = dict(zip(model.titles, model_rows(model, 1)[0], strict=True))
    assert first["Time"] == "2024-01-02 09:00:00.500"  # China time, to the millisecond
    assert (first["Last"], first["Bid price 1"], first["Ask price 1"]) == \
        ("3,500.2", "3,500.0", "3,500.4")

    # a damaged file: a message box naming it, the series marked, the terminal goes on
    (part,) = (store.root / "ticks").rglob("*.parquet")
    part.write_bytes(b"not parquet")
    wait_done(qtbot, dock.view_series(("IF2401", "CFFEX", "tick")))
    assert dock.error_box.isVisible() and f"{part} is damaged" in dock.error_box.text()
    leaf = dock.item_for("IF2401", "CFFEX", "tick")
    assert leaf.foreground(0).color() == ERROR_BRUSH.color()
    assert "part-000001.parquet: its bytes are not those written" in leaf.toolTip(0)
    dock.error_box.close()


def test_series_model_is_columnar_on_a_million_rows(qtbot):
    rows = 1_000_000
    start = pd.Timestamp("2020-01-02 01:00", tz="UTC").value
    table = pa.table({
        "datetime": pa.array(start + np.arange(rows, dtype=np.int64) * 60_000_000_000),
        **{k: pa.array(np.full(rows, 4000.5)) for k in ("open_price", "high_price",
                                                        "low_price", "close_price")},
        "volume": pa.array(np.arange(rows, dtype=np.float64)),
    })
    model = SeriesTableModel(CHINA_TZ)
    model.set_table(table, "1m")
    assert model.rowCount() == rows
    assert model.data(model.index(rows - 1, 0)) == "2021-11-26 19:39:00"
    assert model.data(model.index(rows - 1, 5)) == "999,999"
    assert model.data(model.index(0, 1)) == "4,000.5"
    # nothing per row: the model holds the table's arrays
    assert all(isinstance(c.values, np.ndarray) for c in model._columns)


# ---------------------------------------------------------------------------- verify
def two_series(store):
    ns = pd.to_datetime(["2024-01-02 01:00", "2024-01-02 01:01"]).as_unit("ns").asi8
    bars = {"datetime": ns, "close_price": [3762.0, 3763.0]}
    store.save_columns("rb2405", Exchange.SHFE, "1m", bars)
    store.save_columns("IF2403", Exchange.CFFEX, "1m", bars)
    (part,) = store.folder("rb2405", Exchange.SHFE, "1m").glob("part-*.parquet")
    return part


def flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_verify_checks_every_series_in_the_background_and_names_damaged_parts(
        qtbot, dock, store):
    part = two_series(store)
    dock.refresh()
    assert dock.buttons["Verify all"].isEnabled()       # with nothing selected: every series
    seen = []
    dock.buttons["Verify all"].click()
    job = dock.verify_job
    job.progress.connect(lambda percent, text: seen.append((percent, text)))
    wait_done(qtbot, job)
    assert "Verified 2 parts of 2 series: all intact" in dock.status_label.text()
    assert dock.error_box is None and dock.damaged == {}

    flip_a_byte(part)
    job = dock.verify_series()
    assert dock.buttons["Verify all"].text() == "Stop verifying"
    job.progress.connect(lambda percent, text: seen.append((percent, text)))
    wait_done(qtbot, job)
    assert dock.buttons["Verify all"].text() == "Verify all"
    assert seen and seen[-1][0] == 100 and {text for _, text in seen} >= {"rb2405.SHFE 1m"}
    assert "1 of 2 parts damaged, in 1 series" in dock.status_label.text()
    box = dock.error_box
    assert box.isVisible() and "rb2405.SHFE 1m" in box.text()
    assert str(part) in box.detailedText() and "its bytes are not those written" in \
        box.detailedText()
    damaged, sound = dock.item_for("rb2405", "SHFE", "1m"), dock.item_for("IF2403", "CFFEX", "1m")
    assert damaged.foreground(0).color() == ERROR_BRUSH.color()
    assert "part-000001.parquet: its bytes are not those written" in damaged.toolTip(2)
    assert sound.foreground(0).color() != ERROR_BRUSH.color() and sound.toolTip(0) == ""
    box.close()

    # the damaged series stays marked through a refresh; deleting it clears the mark
    dock.refresh()
    assert dock.item_for("rb2405", "SHFE", "1m").foreground(1).color() == ERROR_BRUSH.color()
    assert dock.delete_series(("rb2405", "SHFE", "1m")) == 2
    assert dock.damaged == {}


def test_verify_of_the_selected_series_from_the_context_menu(qtbot, dock, store):
    part = two_series(store)
    flip_a_byte(part)
    dock.refresh()
    dock.select_series("IF2403", "CFFEX", "1m")
    assert dock.verify_one_action.isEnabled()
    dock.verify_one_action.trigger()
    wait_done(qtbot, dock.verify_job)
    assert "Verified 1 part of 1 series: all intact" in dock.status_label.text()
    assert dock.damaged == {}
    wait_done(qtbot, dock.verify_series(("rb2405", "SHFE", "1m")))
    assert list(dock.damaged) == [("rb2405", "SHFE", "1m")]
    dock.error_box.close()


def test_verify_can_be_stopped(qtbot, dock, store, monkeypatch):
    two_series(store)
    dock.refresh()

    def verify(*args, progress=None):
        dock.verify_job.cancel()                 # the trader presses Stop verifying
        progress(0, 100, "rb2405.SHFE 1m")
        raise AssertionError("not reached: a cancelled job's report raises")

    monkeypatch.setattr(store, "verify", verify)
    job = dock.verify_series()
    wait_done(qtbot, job)
    assert dock.status_label.text() == "Verification stopped"
    assert dock.buttons["Verify all"].text() == "Verify all" and dock.error_box is None


def test_the_terminal_starts_on_a_broken_catalogue_and_lists_the_series(qtbot, data_dir, caplog):
    """A bad date in the catalogue made every start log an unhandled exception; now the
    catalogue is rebuilt from the parts on first use, said once, and the Data dock lists the
    series."""
    import sqlite3

    from terminal.app.main import start

    market = data_dir / "market"
    seed = MarketStore(market)
    two_series(seed)
    seed.close()
    db = sqlite3.connect(market / "catalogue.db")
    db.execute("UPDATE series SET first = 'garbage'")
    db.commit()
    db.close()

    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    try:
        dock = window.data_manager
        dock.refresh()
        assert {row[:3] for row in tree_rows(dock) if len(row) == 4} == \
            {("SHFE", "rb2405", "1m"), ("CFFEX", "IF2403", "1m")}
        assert "first 'garbage' is not a time" in runtime.store.repaired
        assert [r.levelname for r in caplog.records if "inconsistent" in r.getMessage()] == \
            ["WARNING"]
        assert not [r for r in caplog.records if r.levelname == "CRITICAL"]
        alerts = window.alerts.model              # said once in the Alerts dock too
        qtbot.waitUntil(lambda: any(a.rule == "market_data" for a in alerts.records()),
                        timeout=10_000)
        (alert,) = [a for a in alerts.records() if a.rule == "market_data"]
        assert alert.message == runtime.store.repaired
    finally:
        window.close()
        runtime.close()
