"""The chart's drawing tools, once: name, title and default key. The keyboard shortcuts
registry lists them (so Settings → Keyboard shows and changes them), the toolbar shows them,
and the controller reads their keys from the same ids. No Qt here: the shortcuts registry
imports it at start, before any chart exists."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DrawingTool:
    name: str            # a drawing kind of market.drawings, or "measure"
    title: str
    key: str             # default, Qt portable text
    label: str           # a short text for the toolbar when there is room for no icon
    main: bool = True    # on the toolbar itself; otherwise in its Drawings menu only

    @property
    def shortcut_id(self) -> str:
        return f"chart.draw_{self.name}"


TOOLS: tuple[DrawingTool, ...] = (
    DrawingTool("trend", "Trend line", "Alt+T", "Trend"),
    DrawingTool("ray", "Ray", "Alt+R", "Ray"),
    DrawingTool("extended", "Extended line", "Alt+E", "Ext", main=False),
    DrawingTool("hline", "Horizontal line", "Alt+H", "H-line"),
    DrawingTool("hray", "Horizontal ray", "Alt+J", "H-ray", main=False),
    DrawingTool("vline", "Vertical line", "Alt+V", "V-line", main=False),
    DrawingTool("rectangle", "Rectangle", "Alt+B", "Rect"),
    DrawingTool("channel", "Parallel channel", "Alt+C", "Channel"),
    DrawingTool("fib", "Fibonacci retracement", "Alt+F", "Fib"),
    DrawingTool("text", "Text note", "Alt+N", "Note"),
    DrawingTool("measure", "Measure", "Alt+M", "Measure"),
)
BY_NAME = {tool.name: tool for tool in TOOLS}

# Keys of the chart with the keyboard focus that are not configurable (typing keys, and the
# editing keys every program uses), listed for the toolbar's tooltips and the user guide.
MAGNET_KEY = "M"
FIXED_KEYS = (("Esc", "cancel the tool, clear the measure, unselect"),
              ("Delete", "delete the selected drawing"),
              ("Ctrl+Z", "undo"), ("Ctrl+Y", "redo (also Ctrl+Shift+Z)"),
              ("Ctrl+C", "copy the selected drawing"), ("Ctrl+V", "paste a drawing"),
              (MAGNET_KEY, "magnet on/off"))
