"""The style and Fibonacci-levels editors of a drawing: they hand back only what the drawing
model takes, and name what is wrong instead of closing."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor

from terminal.market.drawings import FIB_LEVELS, Style
from terminal.ui.dialogs.drawing_style import FibLevelsDialog, StyleDialog, parse_levels


def test_the_style_dialog_hands_back_colour_width_and_dash(qtbot):
    dialog = StyleDialog(Style("#2f80ed", 1.5, "solid"))
    qtbot.addWidget(dialog)
    chosen = []
    dialog.chosen.connect(chosen.append)
    assert dialog.style() == Style("#2f80ed", 1.5, "solid")
    dialog.color_edit.setText("E5484D")
    dialog.width_box.setValue(3)
    dialog.dash_box.setCurrentIndex(dialog.dash_box.findData("dot"))
    dialog.accept()
    assert chosen == [Style("#e5484d", 3.0, "dot")]
    assert dialog.result() == dialog.DialogCode.Accepted


def test_the_style_dialog_refuses_a_colour_it_cannot_read_and_stays_open(qtbot):
    dialog = StyleDialog(Style())
    qtbot.addWidget(dialog)
    dialog.show()
    chosen = []
    dialog.chosen.connect(chosen.append)
    dialog.color_edit.setText("red-ish")
    assert dialog.color_edit.styleSheet()            # the field is outlined
    dialog.accept()
    assert chosen == [] and dialog.isVisible()
    assert "Colour: 'red-ish'" in dialog.error.text()
    # The width box cannot go past what the model takes.
    dialog.width_box.setValue(50)
    assert dialog.width_box.value() == 8.0
    dialog.close()


def test_the_colour_picker_fills_the_field(qtbot):
    dialog = StyleDialog(Style())
    qtbot.addWidget(dialog)
    picker = dialog.pick_color()
    picker.colorSelected.emit(QColor("#123456"))
    picker.close()
    assert dialog.color_edit.text() == "#123456"
    assert dialog.style().color == "#123456"


def test_fib_levels_are_numbers_in_range_at_least_one_none_twice():
    assert parse_levels(["0", "0.5", " 61.8% ", "", "1,272"]) == (0.0, 0.5, 0.618, 1.272)
    for rows, message in ((["0", "abc"], "row 2: 'abc' is not a number"),
                          (["3.5"], "row 1: 3.5 is outside -1..3"),
                          (["-1.2"], "row 1: -1.2 is outside -1..3"),
                          (["0.5", "50%"], "row 2: 0.5 is there twice"),
                          (["", "  "], "at least one level")):
        with pytest.raises(ValueError, match=message):
            parse_levels(rows)
    assert parse_levels(["-1", "3"]) == (-1.0, 3.0)


def test_the_fib_dialog_edits_the_list_and_refuses_a_bad_row(qtbot):
    dialog = FibLevelsDialog(())
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.levels() == FIB_LEVELS               # () means the standard levels
    chosen = []
    dialog.chosen.connect(chosen.append)
    dialog.list.setCurrentRow(0)
    dialog.remove_button.click()
    dialog.list.item(0).setText("oops")
    dialog.accept()
    assert chosen == [] and dialog.isVisible() and "row 1: 'oops'" in dialog.error.text()
    dialog.set_texts(["1.618", "0.5"])
    dialog.add_button.click()
    dialog.list.closePersistentEditor(dialog.list.item(2))
    dialog.list.item(2).setText("0")
    dialog.accept()
    assert chosen == [(0.0, 0.5, 1.618)] and not dialog.isVisible()
    dialog.standard_button.click()
    assert dialog.levels() == FIB_LEVELS


def test_a_copied_drawing_is_forgotten_before_exit_so_the_exit_does_not_crash(tmp_path):
    """Qt's own clipboard (offscreen) deletes the data a drawing's copy put there after
    Python has ended: exit code 139. The terminal forgets it first (`app.main`)."""
    import subprocess
    import sys

    from tests.helpers import PROJECT

    script = """
import sys
from PySide6.QtCore import QMimeData
from PySide6.QtWidgets import QApplication
from terminal.ui.chart.drawing_edits import MIME, forget_copied_drawing
app = QApplication(sys.argv[:1])
data = QMimeData()
data.setData(MIME, b"{}")
app.clipboard().setMimeData(data)
if sys.argv[1] == "forget":
    forget_copied_drawing()
"""
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(PROJECT)}
    done = subprocess.run([sys.executable, "-c", script, "forget"], env=env, cwd=tmp_path,
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
