"""The strategy a backtest or an optimisation runs: its catalog entry, its class imported
into this process (a user's file only after its check passed), its parameters typed by the
one parser (terminal.plugins.parameters), and the loader a worker process imports it with."""

from __future__ import annotations

from collections.abc import Callable

from terminal.core.paths import DataPaths
from terminal.plugins.loader import PluginError, StrategyCatalog, StrategyEntry, plugin_folders
from terminal.plugins.parameters import check_name, parse_param, parse_range
from terminal.services.errors import BadInput


def catalog_for(paths: DataPaths) -> StrategyCatalog:
    """The data directory's catalog: the shipped plugins, the user's `plugin_folder` from
    settings.json, vn.py's bundled strategies; verdicts cached in the data directory (shared
    with the terminal)."""
    from terminal.core import settings as settings_file

    settings, _ = settings_file.load(paths.settings_file)
    return StrategyCatalog(plugin_folders(settings.plugin_folder),
                           check_seconds=settings.plugin_check_seconds,
                           cache_file=paths.cache_dir / "plugin_checks.json")


def load_entry(name: str, paths: DataPaths) -> StrategyEntry:
    """The strategy's entry with its class imported into this process: a user's plugin file
    only once its check (a child process, `plugin_check_seconds` at most) passed; only the
    files whose text defines a class of that name are checked. BadInput names what is
    wrong: the file's reason, or the strategies there are and the files not loaded."""
    catalog = catalog_for(paths)
    try:
        entry = catalog.get(name)
        catalog.load(name)           # imported once here: entry.cls is this class
        return entry
    except PluginError as exc:
        if not str(exc).startswith("no strategy class"):
            raise BadInput(str(exc)) from None
        catalog.refresh()            # every file checked, for the list of what there is
        text = f"unknown strategy {name!r}"
        text += f"; known strategies: {', '.join(catalog.names()) or 'none'}"
        if catalog.errors:
            text += "; files that are not loaded: " + "; ".join(
                f"{path}: {error}" for path, error in catalog.errors.items())
        raise BadInput(text) from None


def worker_strategy(entry: StrategyEntry) -> Callable[[], type]:
    """A picklable function a worker calls to import the strategy class from its file (a
    user's file checked in a child of the worker first: one that exits or hangs while
    importing fails the run with that reason). The calling process never imports it."""
    return entry.worker_loader()


def typed_params(entry: StrategyEntry, texts: dict[str, str]) -> dict:
    """The parameters typed by the one parser; ParameterValueError names the first that is
    not the strategy's or does not fit."""
    out = {}
    for name, text in texts.items():
        check_name(entry.name, entry.parameters, name)
        out[name] = parse_param(name, text, entry.parameters[name])
    return out


def typed_range(entry: StrategyEntry, name: str, text: str) -> tuple | list:
    """An optimisation range of the strategy's parameter: (start, stop, step) or values."""
    check_name(entry.name, entry.parameters, name)
    return parse_range(name, text, entry.parameters[name])

