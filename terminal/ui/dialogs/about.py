"""Help → About: the terminal's version, every library it runs on, the OS and its folders, with
a Copy button so a support request carries all of it as plain text."""

from __future__ import annotations

import importlib
import platform
import sys
from importlib import metadata
from pathlib import Path

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPlainTextEdit,
                               QPushButton, QVBoxLayout)

from terminal import __version__

NOT_INSTALLED = "not installed"

# (shown name, distribution name, module name)
LIBRARIES = (
    ("vn.py", "vnpy", "vnpy"),
    ("vnpy_ctp", "vnpy_ctp", "vnpy_ctp"),
    ("vnpy_ctastrategy", "vnpy_ctastrategy", "vnpy_ctastrategy"),
    ("pyqtgraph", "pyqtgraph", "pyqtgraph"),
    ("numpy", "numpy", "numpy"),
    ("pandas", "pandas", "pandas"),
    ("pyarrow", "pyarrow", "pyarrow"),
    ("sqlite-utils", "sqlite-utils", "sqlite_utils"),
    ("qasync", "qasync", "qasync"),
    ("TA-Lib", "TA-Lib", "talib"),
)


def version_of(distribution: str, module: str) -> str:
    """The installed version: the package metadata first (a frozen build may lack it), then
    the module's `__version__`; "not installed" when neither is there."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        pass
    except Exception:  # noqa: BLE001, S110 - broken metadata must not break the About box
        pass
    try:
        found = importlib.import_module(module)
    except Exception:  # noqa: BLE001 - ImportError, or a library failing while it loads
        return NOT_INSTALLED
    return str(getattr(found, "__version__", None) or getattr(found, "VERSION", None)
               or "installed, version unknown")


def qt_versions() -> tuple[str, str]:
    import PySide6
    from PySide6.QtCore import qVersion

    return qVersion(), PySide6.__version__


def about_text(data_dir: Path | str, log_dir: Path | str) -> str:
    qt, pyside = qt_versions()
    frozen = " (frozen build)" if getattr(sys, "frozen", False) else ""
    rows = [
        ("Python", (f"{platform.python_version()} ({platform.python_implementation()}, "
                    f"{platform.architecture()[0]})")),
        ("Qt", qt),
        ("PySide6", pyside),
        *((name, version_of(dist, module)) for name, dist, module in LIBRARIES),
        ("OS", platform.platform()),
        ("Data directory", str(data_dir)),
        ("Log folder", str(log_dir)),
    ]
    width = max(len(name) for name, _ in rows) + 1
    lines = [f"Trading Terminal {__version__}{frozen}", ""]
    lines += [f"{name + ':':<{width}} {value}" for name, value in rows]
    return "\n".join(lines)


class AboutDialog(QDialog):
    def __init__(self, data_dir: Path | str, log_dir: Path | str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Trading Terminal")
        self.text = about_text(data_dir, log_dir)
        title = QLabel(f"<h3>Trading Terminal {__version__}</h3>"
                       "A desktop trading terminal for China futures, built on vn.py.")
        title.setWordWrap(True)
        self.details = QPlainTextEdit(self.text)
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy all of this as text, for a support request")
        self.copy_button.clicked.connect(self.copy)
        self.copied = QLabel("")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        bottom = QHBoxLayout()
        bottom.addWidget(self.copy_button)
        bottom.addWidget(self.copied, 1)
        bottom.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.details, 1)
        layout.addLayout(bottom)
        self.resize(640, 460)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text)
        self.copied.setText("Copied to the clipboard.")
