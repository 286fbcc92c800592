"""Strategy plugins: discovery of vn.py `CtaTemplate` subclasses in plugin folders and in
vnpy_ctastrategy's bundled strategies, with each file's import errors isolated (no Qt)."""

from terminal.plugins.loader import (
    BUNDLED,
    SHIPPED_FOLDER,
    PluginError,
    StrategyCatalog,
    StrategyEntry,
    load_class,
    plugin_folders,
)

__all__ = ["BUNDLED", "SHIPPED_FOLDER", "PluginError", "StrategyCatalog", "StrategyEntry",
           "load_class", "plugin_folders"]
