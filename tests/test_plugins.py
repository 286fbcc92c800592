"""Strategy plugins: discovery, isolation of broken files, reloading, name clashes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from terminal.plugins import (
    BUNDLED,
    SHIPPED_FOLDER,
    PluginError,
    StrategyCatalog,
    load_class,
    plugin_folders,
)
from terminal.plugins.loader import MODULE_PREFIX, bundled_folder

SHIPPED = {"MacdTrendStrategy": "macd_trend.py", "RsiReversionStrategy": "rsi_reversion.py",
           "ChannelBreakoutStrategy": "channel_breakout.py"}
BUNDLED_NAMES = {"AtrRsiStrategy", "BollChannelStrategy", "DoubleMaStrategy",
                 "DualThrustStrategy", "KingKeltnerStrategy", "MultiSignalStrategy",
                 "MultiTimeframeStrategy", "TestStrategy", "TurtleSignalStrategy"}


def strategy(name: str, fast: int = 10, extra: str = "") -> str:
    """The source of a small strategy file; `extra` goes after the import line."""
    body = textwrap.dedent('''\
        class NAME(CtaTemplate):
            """A test strategy."""
            author = "tests"
            fast = FAST
            parameters = ["fast"]
            variables = []

            def on_init(self):
                pass

            def on_bar(self, bar):
                pass
        ''').replace("NAME", name).replace("FAST", str(fast))
    return f"from vnpy_ctastrategy import CtaTemplate\n{extra}\n\n{body}"


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_finds_the_shipped_and_the_bundled_strategies():
    catalog = StrategyCatalog([SHIPPED_FOLDER])
    entries = catalog.refresh()
    assert catalog.errors == {}
    for name, file in SHIPPED.items():
        entry = entries[name]
        assert entry.source == SHIPPED_FOLDER / file == entry.path
        assert entry.author and entry.summary and not entry.bundled
        assert entry.parameters["fixed_size"] == 1
    assert entries["MacdTrendStrategy"].parameters["fast_period"] == 12
    assert "stop_price" in entries["ChannelBreakoutStrategy"].variables
    assert BUNDLED_NAMES <= set(entries)
    double_ma = entries["DoubleMaStrategy"]
    assert double_ma.source == BUNDLED and double_ma.bundled
    assert double_ma.parameters == {"fast_window": 10, "slow_window": 20}
    from vnpy_ctastrategy.strategies.double_ma_strategy import DoubleMaStrategy
    assert double_ma.cls is DoubleMaStrategy          # vn.py's own class, not a copy
    assert catalog.module_path("DoubleMaStrategy") == bundled_folder() / "double_ma_strategy.py"


def test_plugin_folders_from_the_settings(tmp_path):
    assert plugin_folders("") == [SHIPPED_FOLDER] == plugin_folders(None)
    assert plugin_folders(str(tmp_path)) == [SHIPPED_FOLDER, tmp_path]
    missing = StrategyCatalog(plugin_folders(tmp_path / "not-there"))
    assert "MacdTrendStrategy" in missing.refresh() and not missing.errors


def test_without_bundled_only_the_folders():
    catalog = StrategyCatalog([SHIPPED_FOLDER], bundled=False)
    assert set(catalog.refresh()) == set(SHIPPED)


def test_a_broken_plugin_is_listed_with_its_error_and_the_others_load(tmp_path):
    folder = tmp_path / "plugins"
    write(folder, "good.py", strategy("GoodStrategy"))
    write(folder, "syntax.py", "x = 1\n\ndef broken(:\n    pass\n")
    write(folder, "imports.py", "import os\nimport no_such_module_for_tests\n")
    write(folder, "raises.py", strategy("RaisesStrategy") + "\n\nraise RuntimeError('boom')\n")
    write(folder, "exits.py", "import sys\nsys.exit(3)\n")
    write(folder, "no_default.py", strategy("NoDefault").replace('["fast"]', '["fast", "slow"]'))
    write(folder, "helpers.py", "def helper():\n    return 1\n")   # no strategy: ignored
    write(folder, "abstract.py", strategy("NoInit").replace("def on_init", "def other")
          + "\n\n" + strategy("AlsoGood").split("\n", 1)[1])
    write(folder, "base.py", textwrap.dedent("""\
        from abc import abstractmethod
        from vnpy_ctastrategy import CtaTemplate

        class Base(CtaTemplate):
            @abstractmethod
            def signal(self): ...

        class Concrete(Base):
            def on_init(self): pass
            def on_bar(self, bar): pass
            def signal(self): return 1
        """))
    write(folder, "_private.py", "raise RuntimeError('never imported')\n")
    write(folder, "notes.txt", "not python")
    catalog = StrategyCatalog([folder], bundled=False)
    entries = catalog.refresh()

    assert set(entries) == {"GoodStrategy", "AlsoGood", "Concrete"}
    errors = {Path(k).name: v for k, v in catalog.errors.items()}
    assert set(errors) == {"syntax.py", "imports.py", "raises.py", "exits.py", "no_default.py",
                           "abstract.py"}
    assert errors["abstract.py"] == \
        "TypeError: NoInit cannot be created: it does not define on_init (line 4)"
    assert errors["syntax.py"].startswith("SyntaxError: ") and errors["syntax.py"].endswith(
        "(line 3)")
    assert errors["imports.py"] == \
        "ModuleNotFoundError: No module named 'no_such_module_for_tests' (line 2)"
    assert errors["raises.py"].startswith("RuntimeError: boom (line ")
    assert errors["exits.py"] == "SystemExit: 3 (line 2)"
    assert errors["no_default.py"] == ("AttributeError: NoDefault: parameter 'slow' has no "
                                       "default value in the class (line 4)")
    assert "Traceback" in catalog.details[str(folder.resolve() / "raises.py")]
    # a broken file leaves nothing behind in sys.modules
    assert not [m for m in sys.modules if m.startswith(f"{MODULE_PREFIX}raises_")]


def test_a_changed_file_is_reloaded_by_get(tmp_path):
    folder = tmp_path / "plugins"
    path = write(folder, "mine.py", strategy("MineStrategy", fast=10))
    catalog = StrategyCatalog([folder], bundled=False)
    first = catalog.get("MineStrategy")
    assert first.cls.fast == 10
    assert catalog.get("MineStrategy").cls is first.cls      # unchanged: not re-imported

    stat = path.stat()
    path.write_text(strategy("MineStrategy", fast=20))       # same size...
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ...and the same mtime
    second = catalog.get("MineStrategy")
    assert second.cls is not first.cls
    assert second.cls.fast == 20 and second.parameters == {"fast": 20}

    path.write_text(strategy("MineStrategy", fast=30).replace("def on_bar", "def on_bar(:"))
    with pytest.raises(PluginError, match="SyntaxError"):
        catalog.get("MineStrategy")
    assert "MineStrategy" not in catalog.entries and str(path.resolve()) in catalog.errors

    path.write_text(strategy("MineStrategy", fast=40))
    assert catalog.get("MineStrategy").cls.fast == 40
    assert not catalog.errors

    write(folder, "later.py", strategy("LaterStrategy"))     # added after the scan
    assert catalog.get("LaterStrategy").cls.fast == 10
    path.unlink()
    with pytest.raises(PluginError):
        catalog.get("MineStrategy")
    assert "MineStrategy" not in catalog.refresh()


def test_name_clash_first_folder_wins_and_is_reported(tmp_path):
    first = write(tmp_path / "a", "one.py", strategy("DupStrategy", fast=1))
    second = write(tmp_path / "b", "two.py", strategy("DupStrategy", fast=2)
                   + "\n\n" + strategy("OtherStrategy").split("\n", 1)[1])
    shadow = write(tmp_path / "b", "double_ma.py", strategy("DoubleMaStrategy", fast=3))
    catalog = StrategyCatalog([tmp_path / "a", tmp_path / "b"])
    entries = catalog.refresh()

    assert entries["DupStrategy"].source == first.resolve() and entries["DupStrategy"].cls.fast == 1
    assert entries["OtherStrategy"].source == second.resolve()   # the rest of the file loads
    assert "NameClash: class DupStrategy is already defined in" in catalog.errors[
        str(second.resolve())]
    # a user's folder comes before vn.py's bundled strategies
    assert entries["DoubleMaStrategy"].source == shadow.resolve()
    bundled_file = str(bundled_folder() / "double_ma_strategy.py")
    assert "NameClash: class DoubleMaStrategy" in catalog.errors[bundled_file]


def test_nothing_is_added_to_sys_path_or_written_to_plugin_folders(tmp_path):
    folder = tmp_path / "plugins"
    write(folder, "mine.py", strategy("PathStrategy"))
    write(folder, "helper_user.py", strategy("HelperUser", extra="import mine  # noqa"))
    before = list(sys.path)
    catalog = StrategyCatalog([folder, SHIPPED_FOLDER])
    catalog.refresh()
    catalog.get("PathStrategy")
    assert sys.path == before
    # siblings are not importable by name: each file stands alone
    assert "ModuleNotFoundError: No module named 'mine'" in catalog.errors[
        str((folder / "helper_user.py").resolve())]
    assert not (folder / "__pycache__").exists()
    assert not (SHIPPED_FOLDER / "__pycache__").exists() or \
        not list((SHIPPED_FOLDER / "__pycache__").glob("*"))
    module = catalog.get("PathStrategy").module
    assert module.startswith(MODULE_PREFIX) and sys.modules[module].__file__ == str(
        (folder / "mine.py").resolve())
    assert "mine" not in sys.modules


def test_plugins_are_imported_lazily(tmp_path):
    marker = tmp_path / "imported"
    folder = tmp_path / "plugins"
    write(folder, "lazy.py", strategy(
        "LazyStrategy", extra=f"from pathlib import Path\nPath({str(marker)!r}).write_text('yes')"))
    catalog = StrategyCatalog([folder], bundled=False)
    assert not marker.exists()
    assert catalog.names() == ["LazyStrategy"]
    assert marker.exists()


def test_the_same_file_name_in_two_folders_gives_two_modules(tmp_path):
    write(tmp_path / "a", "same.py", strategy("AStrategy"))
    write(tmp_path / "b", "same.py", strategy("BStrategy"))
    catalog = StrategyCatalog([tmp_path / "a", tmp_path / "b"], bundled=False)
    entries = catalog.refresh()
    assert entries["AStrategy"].module != entries["BStrategy"].module
    assert not catalog.errors


def test_load_class_for_a_worker(tmp_path):
    folder = tmp_path / "plugins"
    write(folder, "mine.py", strategy("WorkerStrategy", fast=7))
    catalog = StrategyCatalog([folder])
    path = catalog.module_path("WorkerStrategy")
    assert load_class(path, "WorkerStrategy").fast == 7
    bundled = catalog.module_path("TurtleSignalStrategy")
    assert load_class(bundled, "TurtleSignalStrategy") is catalog.get("TurtleSignalStrategy").cls
    with pytest.raises(PluginError, match="no strategy class 'Missing'"):
        load_class(path, "Missing")

    # in a fresh process (as a backtest worker): the class comes from the file alone
    code = textwrap.dedent(f"""\
        import sys
        import vnpy_ctastrategy  # noqa: F401  (vn.py itself appends its folder to sys.path)
        from terminal.plugins.loader import load_class
        before = list(sys.path)
        cls = load_class({str(path)!r}, "WorkerStrategy")
        macd = load_class({str(SHIPPED_FOLDER / 'macd_trend.py')!r}, "MacdTrendStrategy")
        assert sys.path == before
        print(cls.__name__, cls.fast, macd.slow_period)
        """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["WorkerStrategy", "7", "26"]


def test_classes_for_the_live_engine():
    catalog = StrategyCatalog([SHIPPED_FOLDER])
    classes = catalog.classes()
    assert classes["MacdTrendStrategy"] is catalog.get("MacdTrendStrategy").cls
    assert BUNDLED_NAMES <= set(classes)
