"""Log: engine and gateway messages, and every handler failure, newest last."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from datetime import datetime


from terminal.core.bridge import Batch
from terminal.core.events import HandlerError
from terminal.ui.docks.common import TableDock
from terminal.ui.models.table import Column, RecordTableModel, clock
from terminal.ui.colours import ERROR_BRUSH

MAX_LINES = 10_000
_ids = itertools.count()


@dataclass
class LogLine:
    time: datetime
    level: str
    source: str
    message: str
    id: int = field(default_factory=lambda: next(_ids))


class LogModel(RecordTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(
            [
                Column("Time", lambda r: r.time, clock, width=96),
                Column("Level", lambda r: r.level,
                       color=lambda r: ERROR_BRUSH if r.level in ("ERROR", "CRITICAL") else None),
                Column("Source", lambda r: r.source, width=150),
                Column("Message", lambda r: r.message, width=600),
            ],
            key=lambda r: r.id,
            max_rows=MAX_LINES,
            parent=parent,
        )


class LogDock(TableDock):
    def __init__(self, parent=None) -> None:
        super().__init__(LogModel(), sortable=False, parent=parent)

    def apply(self, batch: Batch) -> None:
        lines = [
            LogLine(log.time, logging.getLevelName(log.level), log.gateway_name, log.msg)
            for log in batch.logs
        ]
        lines += [self._error_line(error) for error in batch.errors]
        if lines:
            self.add(lines)

    @staticmethod
    def _error_line(error: HandlerError) -> LogLine:
        return LogLine(error.time, "ERROR", error.handler,
                       f"handler failed on {error.event_type}: {error.error}")

    def add(self, lines: list[LogLine]) -> None:
        at_bottom = self.view.verticalScrollBar().value() >= self.view.verticalScrollBar().maximum()
        self.model.upsert(lines)
        if at_bottom:
            self.view.scrollToBottom()

    def add_error(self, error: HandlerError) -> None:
        self.add([self._error_line(error)])
