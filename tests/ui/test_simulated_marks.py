"""Bars made by the simulated exchange say so wherever a trader picks or sees them: the Data
dock's tree and the backtest workbench's symbol list."""

from __future__ import annotations

from datetime import datetime

import pytest
from vnpy.trader.constant import Exchange

from terminal.core.timezone import CHINA_TZ
from terminal.gateways.sim.history import simulated_columns
from terminal.market import contracts
from terminal.plugins.loader import StrategyCatalog
from terminal.storage.market_store import MarketStore
from terminal.ui.backtest.form import SettingsPanel
from terminal.ui.docks.data_manager import DataManagerDock

END = datetime(2026, 12, 9, 15, 30, tzinfo=CHINA_TZ)


@pytest.fixture
def store(tmp_path):
    market = MarketStore(tmp_path / "market")
    rb = contracts.find("rb2701.SHFE")
    columns = simulated_columns(rb, 3, END, rb.base_price, days=2)
    market.save_columns("rb2701", Exchange.SHFE, "1m", columns, "sim")
    market.save_columns("hc2701", Exchange.SHFE, "1m", columns)
    yield market
    market.close()


def test_the_data_dock_marks_a_simulated_series(qtbot, store):
    dock = DataManagerDock(store)
    qtbot.addWidget(dock)
    dock.refresh()
    rb = dock.item_for("rb2701", "SHFE", "1m")
    hc = dock.item_for("hc2701", "SHFE", "1m")
    assert rb.text(0) == "1m · simulated" and rb.parent().text(0) == "rb2701 · simulated"
    assert "Simulated history" in rb.toolTip(0)
    assert hc.text(0) == "1m" and hc.parent().text(0) == "hc2701" and hc.toolTip(0) == ""
    dock.pool.waitForDone(5000)


def test_the_workbench_lists_a_simulated_symbol_as_such(qtbot, store):
    catalog = StrategyCatalog([])
    panel = SettingsPanel(catalog, store)
    qtbot.addWidget(panel)
    try:
        items = {panel.symbol_box.itemData(i): panel.symbol_box.itemText(i)
                 for i in range(panel.symbol_box.count())}
    finally:
        catalog.close()
    assert items == {"rb2701.SHFE": "rb2701.SHFE (simulated)", "hc2701.SHFE": "hc2701.SHFE"}
