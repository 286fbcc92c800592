"""Account: balance, available funds, margin, frozen funds and the day's P&L and fees."""

from __future__ import annotations


from terminal.core.bridge import Batch
from terminal.ui.docks.common import TableDock
from terminal.ui.models.table import Column, RecordTableModel, number


def _extra(name: str):
    return lambda a: (a.extra or {}).get(name)


def _risk(account) -> float | None:
    margin = (account.extra or {}).get("margin")
    return margin / account.balance * 100 if margin is not None and account.balance else None


class AccountModel(RecordTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(
            [
                Column("Account", lambda a: a.vt_accountid, width=110),
                Column("Balance", lambda a: a.balance, number(2), True),
                Column("Available", lambda a: a.available, number(2), True),
                Column("Margin", _extra("margin"), number(2), True),
                Column("Frozen", lambda a: a.frozen, number(2), True,
                       tooltip="Margin held plus funds frozen by working orders"),
                Column("Float P&L", _extra("float_pnl"), number(2), True),
                Column("Closed P&L", _extra("close_pnl"), number(2), True),
                Column("Commission", _extra("commission"), number(2), True),
                Column("Margin use %", _risk, number(1), True),
            ],
            key=lambda a: a.vt_accountid,
            parent=parent,
        )


class AccountDock(TableDock):
    def __init__(self, parent=None) -> None:
        super().__init__(AccountModel(), parent=parent)

    def apply(self, batch: Batch) -> None:
        if batch.accounts:
            self.model.upsert(batch.accounts.values())
