"""The risk dialog shows the conduct limits from their description, lets the account-wide ones
be set globally only, and applies them to the running gate."""

from __future__ import annotations

from PySide6.QtCore import Qt

from terminal.risk.limits import ACCOUNT_WIDE, LIMIT_SPECS


def test_the_risk_dialog_sets_the_conduct_limits_and_refuses_them_per_symbol(qtbot, terminal):
    runtime, window = terminal
    dialog = window.open_risk_settings()
    dialog.add_symbol("rb2701.SHFE")
    for name in ("self_trade", *sorted(ACCOUNT_WIDE)):
        row = dialog.table.verticalHeaderItem(list(LIMIT_SPECS).index(name))
        assert row.text().startswith(LIMIT_SPECS[name].label)
    assert dialog.cell("max_actions_per_second").text() == "9"
    assert dialog.cell("max_actions_per_day").text() == "19000"
    assert dialog.cell("conduct_warning_share").text() == "0.8"
    for name in ACCOUNT_WIDE:       # no per-symbol value to edit; the global one is editable
        assert not dialog.cell(name, 1).flags() & Qt.ItemFlag.ItemIsEditable
        assert dialog.cell(name, 0).flags() & Qt.ItemFlag.ItemIsEditable
    assert dialog.cell("self_trade", 1).flags() & Qt.ItemFlag.ItemIsEditable

    dialog.cell("max_actions_per_second", 1).setText("50")     # as if typed past the flag
    dialog.accept()
    assert dialog.isVisible()
    refused = ("symbols.rb2701.SHFE.max_actions_per_second: counts the whole account's orders "
               "and cancels, so it has no per-symbol value; set it under global")
    assert refused in dialog.errors.text()
    assert runtime.risk.config.global_limits.max_actions_per_second == 9   # nothing applied

    dialog.cell("max_actions_per_second", 1).setText("")
    dialog.cell("max_actions_per_second").setText("5")
    dialog.cell("self_trade", 1).setText("false")
    dialog.accept()
    assert not dialog.isVisible()
    config = runtime.risk.config
    assert config.global_limits.max_actions_per_second == 5
    assert runtime.risk.gate.config.limits_for("rb2701.SHFE").self_trade is False
    assert '"max_actions_per_second": 5' in runtime.risk.path.read_text()
