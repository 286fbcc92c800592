"""The price alerts' changes as a Qt signal, delivered on the GUI thread.

The book tells its listeners on the thread that made the change: the GUI's own edits, or the
event thread when an alert fires. A view connects to `changed` instead, which Qt queues over
to the GUI thread; the listener is dropped when the relay's owner is destroyed."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from terminal.market.alert_book import PriceAlerts


class PriceAlertSignals(QObject):
    changed = Signal(str)              # vt_symbol

    def __init__(self, alerts: PriceAlerts, parent: QObject) -> None:
        super().__init__(parent)
        unlisten = alerts.listen(self.changed.emit)
        self.destroyed.connect(lambda *_: unlisten())
