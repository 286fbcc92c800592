"""The chart as a trader sees it, on a real X server (Xvfb): a simulated contract's history,
drawings, a volume profile and price alerts with their bells, photographed by
`scripts/chart_screenshot.py`. The picture must show each of them, not a blank pane."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import PROJECT

SCRIPT = PROJECT / "scripts" / "chart_screenshot.py"


def _pixels(path) -> np.ndarray:
    """The picture as an (height, width, 3) array of 0-255 channels."""
    from PySide6.QtGui import QImage

    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    assert not image.isNull(), f"{path} is not a picture"
    row = image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8, row * image.height())
    # A copy: the view into the image's memory dies with the image when this returns.
    return raw.reshape(image.height(), row)[:, :image.width() * 3].reshape(
        image.height(), image.width(), 3).copy()


def _count(pixels: np.ndarray, hex_colour: str, tolerance: int = 10) -> int:
    """Pixels within `tolerance` of the colour on each channel (anti-aliasing blends edges)."""
    target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels.astype(int) - target) <= tolerance).all(axis=2).sum())


def _photograph(tmp_path, *arguments: str) -> dict:
    """Runs the script under Xvfb with `arguments`; the facts it printed."""
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (apt-get install xvfb xauth)")
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "QT_QPA_PLATFORM": "xcb",
           "HOME": str(tmp_path)}
    done = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable,
                           str(SCRIPT), *arguments], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(next(line for line in done.stdout.splitlines() if line.startswith("{")))


@pytest.mark.slow
def test_a_chart_with_history_drawings_profile_and_alerts_is_drawn(tmp_path):
    shot = tmp_path / "chart.png"
    facts = _photograph(tmp_path, str(shot))
    assert facts == {"bells": True, "drawings": 4, "bars": facts["bars"],
                     "source": "simulated history", "profile": True}
    assert facts["bars"] > 1000                        # 20 trading days of 5-minute bars

    from terminal.ui.colours import WARNING_HEX
    from terminal.ui.theme import DARK

    pixels = _pixels(shot)
    height, width, _ = pixels.shape
    assert width > 600 and height > 400
    flat = pixels.reshape(-1, 3)
    colours, counts = np.unique(flat[::3], axis=0, return_counts=True)
    assert len(colours) > 200 and counts.max() / counts.sum() < 0.9   # not a blank pane
    seen = {name: _count(pixels, colour) for name, colour in {
        "trend line": "#2f80ed",                       # the drawings' default colour
        "fibonacci": "#9b59b6",
        "alert line (a drawing with a bell)": "#e67e22",
        "level alert line and bell": WARNING_HEX,
        "profile value area": DARK.chart.profile_value,
        "profile point of control": DARK.chart.profile_poc,
    }.items()}
    assert all(count >= 30 for count in seen.values()), seen


@pytest.mark.slow
def test_orders_placed_from_the_chart_are_drawn_with_their_labels(tmp_path):
    """`--orders`: a bracket bought with a template, a working limit and a local stop; their
    lines and the position's are on the picture in their colours."""
    shot = tmp_path / "orders.png"
    facts = _photograph(tmp_path, "--orders", str(shot))
    starts = sorted(text.split(" @ ")[0] for text in facts["order_lines"])
    assert starts == ["Buy 1 limit", "Long 2", "Sell 1 stop", "Stop 2", "Target 1 · 1 lot",
                      "Target 2 · 1 lot"], facts["order_lines"]
    assert sum("· local" in text for text in facts["order_lines"]) == 2

    from terminal.ui.colours import ORDER_STOP_HEX, ORDER_TARGET_HEX, UP_HEX
    from terminal.ui.theme import DARK

    pixels = _pixels(shot)
    seen = {name: _count(pixels, colour) for name, colour in {
        "stops (the bracket's and the lone one)": ORDER_STOP_HEX,
        "targets": ORDER_TARGET_HEX, "buy limit": UP_HEX,
        "position": DARK.chart.position}.items()}
    assert all(count >= 30 for count in seen.values()), seen
