"""Pieces every table dock uses."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QTableView,
                               QVBoxLayout, QWidget)

from terminal.ui.models.table import RecordTableModel
from terminal.ui.mirror_view import MirrorTableView
from terminal.ui.table_view import FastTableView


def make_table(model: RecordTableModel, sortable: bool = True, mirror: bool = False) -> QTableView:
    """A table over `model`; `mirror` for the busiest table (see `ui.mirror_view`)."""
    if mirror:
        view: QTableView = MirrorTableView(model)
        view.verticalHeader().setDefaultSectionSize(view.fontMetrics().lineSpacing() + 2)
    else:
        view = FastTableView()
        view.setModel(model)
    # No sort until the trader clicks a header: enabling sorting sorts by the indicator.
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    view.setSortingEnabled(sortable)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setDefaultSectionSize(86)
    view.horizontalHeader().setStretchLastSection(True)
    view.setWordWrap(False)
    for number, column in enumerate(model.columns):
        view.setColumnWidth(number, column.width)
    return view


STRETCH = None      # in `lay_out_table`'s controls: a gap pushing the controls after it right


def lay_out_table(dock: QWidget, view: QTableView, *controls) -> None:
    """Lays `dock` out as its table, under a bar of `controls` when it has some: the layout
    of every table dock. A control is a widget, a `(widget, stretch)` pair or STRETCH."""
    layout = QVBoxLayout(dock)
    layout.setContentsMargins(2, 2, 2, 2)
    if controls:
        bar = QHBoxLayout()
        for control in controls:
            if control is STRETCH:
                bar.addStretch(1)
            elif isinstance(control, tuple):
                bar.addWidget(*control)
            else:
                bar.addWidget(control)
        layout.addLayout(bar)
    layout.addWidget(view)


def record_at(view: QTableView, row: int):
    """The record row `row` of `view` shows: a mirror's rows can lag its source by a reshape."""
    if isinstance(view, MirrorTableView):
        return view.record_at(row)
    return view.model().record(row)


def selected_records(view: QTableView) -> list:
    rows = sorted({index.row() for index in view.selectionModel().selectedRows()})
    return [record for record in (record_at(view, row) for row in rows) if record is not None]


class RefreshedWhenShown:
    """For a dock listing the market store: `refresh()` runs when it is first shown, or when
    `list_later`'s signal fires, not when it is built. Opening the store's catalogue imports
    sqlite-utils and pandas, which the main window's first paint need not wait for."""

    def list_later(self, signal) -> None:
        self._refreshed_when_shown = True
        signal.connect(self.refresh)  # type: ignore[attr-defined]

    def showEvent(self, event) -> None:
        super().showEvent(event)  # type: ignore[misc]
        if not getattr(self, "_refreshed_when_shown", False):
            self._refreshed_when_shown = True
            self.refresh()  # type: ignore[attr-defined]


class TableDock(QWidget):
    """A dock that is one table over one model."""

    def __init__(self, model: RecordTableModel, sortable: bool = True, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        model.setParent(self)
        self.view = make_table(model, sortable)
        lay_out_table(self, self.view)
