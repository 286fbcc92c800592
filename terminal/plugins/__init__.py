"""Strategy plugins: discovery of vn.py `CtaTemplate` subclasses in plugin folders and in
vnpy_ctastrategy's bundled strategies; the user's files are checked in a child process before
any of them is imported into the terminal (no Qt)."""

from terminal.plugins.loader import (
    BUNDLED,
    CHECK_SECONDS,
    SHIPPED_FOLDER,
    PluginError,
    StrategyCatalog,
    StrategyEntry,
    load_class,
    plugin_folders,
)

__all__ = ["BUNDLED", "CHECK_SECONDS", "SHIPPED_FOLDER", "PluginError", "StrategyCatalog",
           "StrategyEntry", "load_class", "plugin_folders"]
