"""Strategy plugins: discovery, the check of the user's files in a child process (files that
exit, hang, crash or raise while importing are listed with the reason and never imported),
the verdicts kept by file signature, importing only what is used, name clashes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import psutil
import pytest

from terminal.plugins import (
    BUNDLED,
    SHIPPED_FOLDER,
    PluginError,
    StrategyCatalog,
    load_class,
    plugin_folders,
)
from terminal.plugins import cache as cache_module
from terminal.plugins.loader import MODULE_PREFIX, bundled_folder
from terminal.plugins.modules import module_name_for
from tests.helpers.plugin_files import HOSTILE, LIMIT, imported_here, strategy, write, write_hostile
from tests.helpers import PROJECT

SHIPPED = {"MacdTrendStrategy": "macd_trend.py", "RsiReversionStrategy": "rsi_reversion.py",
           "ChannelBreakoutStrategy": "channel_breakout.py"}
BUNDLED_NAMES = {"AtrRsiStrategy", "BollChannelStrategy", "DoubleMaStrategy",
                 "DualThrustStrategy", "KingKeltnerStrategy", "MultiSignalStrategy",
                 "MultiTimeframeStrategy", "TestStrategy", "TurtleSignalStrategy"}
@pytest.fixture
def catalogs():
    """Catalogs made by a test, closed after it (their checks under way are stopped)."""
    made: list[StrategyCatalog] = []

    def make(*args, **kwargs) -> StrategyCatalog:
        made.append(StrategyCatalog(*args, **kwargs))
        return made[-1]

    yield make
    for catalog in made:
        catalog.close()


def check_processes() -> list[psutil.Process]:
    """Child processes of this one still there a while after the checks ended (a check's
    thread kills its process just after the last verdict), multiprocessing's helper aside."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return psutil.wait_procs(found, timeout=60)[1]


# --------------------------------------------------------------------------- discovery
def test_finds_the_shipped_and_the_bundled_strategies(catalogs):
    catalog = catalogs([SHIPPED_FOLDER])
    entries = catalog.refresh()
    assert catalog.errors == {}
    for name, file in SHIPPED.items():
        entry = entries[name]
        assert entry.source == SHIPPED_FOLDER / file == entry.path
        assert entry.author and entry.summary and not entry.bundled and entry.trusted
        assert entry.parameters["fixed_size"] == 1
    assert entries["MacdTrendStrategy"].parameters["fast_period"] == 12
    assert "stop_price" in entries["ChannelBreakoutStrategy"].variables
    assert set(entries) >= BUNDLED_NAMES
    double_ma = entries["DoubleMaStrategy"]
    assert double_ma.source == BUNDLED and double_ma.bundled
    assert double_ma.parameters == {"fast_window": 10, "slow_window": 20}
    from vnpy_ctastrategy.strategies.double_ma_strategy import DoubleMaStrategy
    assert double_ma.cls is DoubleMaStrategy          # vn.py's own class, not a copy
    assert catalog.load("DoubleMaStrategy") is DoubleMaStrategy
    assert catalog.module_path("DoubleMaStrategy") == bundled_folder() / "double_ma_strategy.py"


def test_plugin_folders_from_the_settings(tmp_path, catalogs):
    assert plugin_folders("") == [SHIPPED_FOLDER] == plugin_folders(None)
    assert plugin_folders(str(tmp_path)) == [SHIPPED_FOLDER, tmp_path]
    missing = catalogs(plugin_folders(tmp_path / "not-there"))
    assert "MacdTrendStrategy" in missing.refresh() and not missing.errors


def test_without_bundled_only_the_folders(catalogs):
    catalog = catalogs([SHIPPED_FOLDER], bundled=False)
    assert set(catalog.refresh()) == set(SHIPPED)


def test_a_broken_plugin_is_listed_with_its_error_and_the_others_load(tmp_path, catalogs):
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
    catalog = catalogs([folder], bundled=False)
    entries = catalog.refresh()

    assert set(entries) == {"GoodStrategy", "AlsoGood", "Concrete"}
    assert entries["GoodStrategy"].parameters == {"fast": 10}
    assert entries["GoodStrategy"].summary == "A test strategy." and not entries[
        "GoodStrategy"].trusted
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
    # listing ran none of the files here
    assert imported_here(folder) == []
    with pytest.raises(PluginError, match=r"strategy RaisesStrategy: .*raises.py: RuntimeError"):
        catalog.load("RaisesStrategy")
    assert imported_here(folder) == []


def test_files_that_exit_hang_or_crash_are_listed_with_the_reason_and_never_run_here(
        tmp_path, catalogs):
    folder = tmp_path / "plugins"
    expected = write_hostile(folder)
    write(folder, "zz_good.py", strategy("GoodAfterThemStrategy"))   # checked after them all
    catalog = catalogs([SHIPPED_FOLDER, folder], check_seconds=LIMIT)
    entries = catalog.refresh()

    assert {Path(k).name: v for k, v in catalog.errors.items()} == expected
    assert "GoodAfterThemStrategy" in entries and set(SHIPPED) <= set(entries)
    assert catalog.pending == []
    assert imported_here(folder) == []
    # a strategy of a hostile file is refused with its file's reason, and nothing runs here
    for name in ("ExitsStrategy", "LoopsStrategy", "SleepsStrategy", "CrashesStrategy"):
        with pytest.raises(PluginError, match=name):
            catalog.load(name)
    with pytest.raises(PluginError, match=r"exits\.py: exited with code 1 while importing"):
        catalog.get("ExitsStrategy")
    assert catalog.load("GoodAfterThemStrategy").fast == 10     # used: imported now
    assert imported_here(folder) == [module_name_for(folder / "zz_good.py")]
    assert check_processes() == []          # every check process killed and reaped


def test_listing_runs_plugin_code_only_in_a_check_process(tmp_path, catalogs):
    marker = tmp_path / "imported-by"
    folder = tmp_path / "plugins"
    write(folder, "lazy.py", strategy("LazyStrategy", extra=textwrap.dedent(f"""\
        import os
        from pathlib import Path
        with open({str(marker)!r}, "a") as out:
            out.write(f"{{os.getpid()}}\\n")""")))
    catalog = catalogs([folder], bundled=False)
    assert not marker.exists()
    assert catalog.refresh() and catalog.names() == ["LazyStrategy"]
    first = marker.read_text().split()
    assert len(first) == 1 and int(first[0]) != os.getpid()
    cls = catalog.get("LazyStrategy").cls          # the trader uses it: imported here, once
    assert marker.read_text().split() == [*first, str(os.getpid())]
    assert catalog.load("LazyStrategy") is cls
    assert len(marker.read_text().split()) == 2


def test_check_in_background_returns_at_once_and_the_lists_fill_when_it_ends(
        tmp_path, catalogs):
    gate = tmp_path / "go"
    folder = tmp_path / "plugins"
    write(folder, "waits.py", strategy("WaitsStrategy", extra=textwrap.dedent(f"""\
        import time
        from pathlib import Path
        while not Path({str(gate)!r}).exists():
            time.sleep(0.01)""")))
    catalog = catalogs([folder], bundled=False, check_seconds=600)
    changed = threading.Event()
    catalog.subscribe(changed.set)
    scan = catalog.check_in_background()
    scan.join(timeout=60)
    assert not scan.is_alive()              # the scan has ended; the check goes on
    assert catalog.pending == [str(folder.resolve() / "waits.py")]
    assert catalog.entries == {} and catalog.errors == {}
    changed.clear()
    gate.write_text("go")
    assert changed.wait(120)
    while catalog.pending:
        assert changed.wait(120)
        changed.clear()
    assert list(catalog.entries) == ["WaitsStrategy"] and imported_here(folder) == []


def test_a_launcher_script_without_a_main_guard_is_not_run_again_by_the_check(tmp_path):
    """The check starts a fresh interpreter that imports only the checker: a script that
    builds a catalog at its top level (no `if __name__ == "__main__"`) runs once."""
    folder = tmp_path / "plugins"
    write(folder, "mine.py", strategy("GuardlessStrategy"))
    runs = tmp_path / "script-runs"
    script = tmp_path / "launcher.py"
    script.write_text(textwrap.dedent(f"""\
        import os
        with open({str(runs)!r}, "a") as out:
            out.write("run\\n")
        os.makedirs(".vntrader", exist_ok=True)
        import vnpy.trader.utility
        from terminal.plugins import StrategyCatalog
        catalog = StrategyCatalog([{str(folder)!r}], bundled=False)
        catalog.refresh()
        print(sorted(catalog.entries), catalog.errors)
        """))
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['GuardlessStrategy'] {}"
    assert runs.read_text() == "run\n"


# --------------------------------------------------------------------------- verdicts kept
def test_verdicts_are_kept_by_file_signature_across_catalogs(tmp_path, catalogs, monkeypatch):
    marker = tmp_path / "runs"
    folder = tmp_path / "plugins"
    counting = strategy("CountedStrategy", extra=f"open({str(marker)!r}, 'a').write('x')")
    path = write(folder, "counted.py", counting)
    write(folder, "exits.py", HOSTILE["exits.py"][0])
    cache_file = tmp_path / "data" / "cache" / "plugin_checks.json"

    def listed() -> StrategyCatalog:
        catalog = catalogs([folder], bundled=False, cache_file=cache_file, check_seconds=LIMIT)
        catalog.refresh()
        return catalog

    first = listed()
    assert marker.read_text() == "x" and "CountedStrategy" in first.entries
    assert oct(cache_file.stat().st_mode & 0o777) == "0o600"
    second = listed()                       # unchanged files: no check at all
    assert marker.read_text() == "x"
    assert set(second.entries) == {"CountedStrategy"}
    assert second.errors == first.errors and "exited with code 1" in next(
        iter(second.errors.values()))
    assert second.get("CountedStrategy").parameters == {"fast": 10}

    stat = path.stat()                      # same size and modification time, new content
    path.write_text(counting.replace("fast = 10", "fast = 20"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    third = listed()
    assert marker.read_text() == "xx" and third.entries["CountedStrategy"].parameters == {
        "fast": 20}

    monkeypatch.setattr(cache_module, "environment", lambda: "another interpreter")
    listed()                                # another environment: everything checked again
    assert marker.read_text() == "xxx"

    cache_file.write_text("{not json")
    listed()                                # a damaged cache is set aside
    assert marker.read_text() == "xxxx" and json.loads(cache_file.read_text())["files"]


def test_reload_with_retry_checks_failed_files_again(tmp_path, catalogs, monkeypatch):
    packages = tmp_path / "site"
    packages.mkdir()
    monkeypatch.syspath_prepend(str(packages))          # the check process gets sys.path
    folder = tmp_path / "plugins"
    write(folder, "needs.py", strategy("NeedsStrategy", extra="import later_installed_pkg"))
    catalog = catalogs([folder], bundled=False)
    catalog.refresh()
    assert "No module named 'later_installed_pkg'" in next(iter(catalog.errors.values()))
    (packages / "later_installed_pkg.py").write_text("VALUE = 1\n")
    catalog.refresh()                       # unchanged file: its verdict stands
    assert "NeedsStrategy" not in catalog.entries
    catalog.refresh(retry=True)
    assert "NeedsStrategy" in catalog.entries and not catalog.errors


# --------------------------------------------------------------------------- changes
def test_a_changed_file_is_checked_again_and_used_as_it_is_now(tmp_path, catalogs):
    folder = tmp_path / "plugins"
    path = write(folder, "mine.py", strategy("MineStrategy", fast=10))
    catalog = catalogs([folder], bundled=False, check_seconds=LIMIT)
    first = catalog.load("MineStrategy")
    assert first.fast == 10
    assert catalog.load("MineStrategy") is first               # unchanged: not imported again

    stat = path.stat()
    path.write_text(strategy("MineStrategy", fast=20))       # same size...
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ...and the same mtime
    assert catalog.get("MineStrategy").parameters == {"fast": 20}
    second = catalog.load("MineStrategy")
    assert second is not first and second.fast == 20

    path.write_text(strategy("MineStrategy", fast=30).replace("def on_bar", "def on_bar(:"))
    with pytest.raises(PluginError, match="SyntaxError"):
        catalog.get("MineStrategy")
    assert "MineStrategy" not in catalog.entries and str(path.resolve()) in catalog.errors

    path.write_text(strategy("MineStrategy", fast=40))
    assert catalog.load("MineStrategy").fast == 40
    assert not catalog.errors

    write(folder, "later.py", strategy("LaterStrategy"))     # added after the scan
    assert catalog.load("LaterStrategy").fast == 10
    path.unlink()
    with pytest.raises(PluginError):
        catalog.get("MineStrategy")
    assert "MineStrategy" not in catalog.refresh()


def test_a_file_changed_after_its_check_is_checked_again_before_it_is_imported(
        tmp_path, catalogs):
    folder = tmp_path / "plugins"
    path = write(folder, "turns.py", strategy("TurnsStrategy"))
    catalog = catalogs([folder], bundled=False, check_seconds=LIMIT)
    assert "TurnsStrategy" in catalog.refresh()
    path.write_text(HOSTILE["exits.py"][0].replace("ExitsStrategy", "TurnsStrategy"))
    with pytest.raises(PluginError, match=r"turns\.py: exited with code 1 while importing"):
        catalog.load("TurnsStrategy")        # this process is still here to say so
    assert imported_here(folder) == []


def test_name_clash_first_folder_wins_and_is_reported(tmp_path, catalogs):
    first = write(tmp_path / "a", "one.py", strategy("DupStrategy", fast=1))
    second = write(tmp_path / "b", "two.py", strategy("DupStrategy", fast=2)
                   + "\n\n" + strategy("OtherStrategy").split("\n", 1)[1])
    shadow = write(tmp_path / "b", "double_ma.py", strategy("DoubleMaStrategy", fast=3))
    catalog = catalogs([tmp_path / "a", tmp_path / "b"])
    entries = catalog.refresh()

    assert entries["DupStrategy"].source == first.resolve()
    assert entries["DupStrategy"].parameters == {"fast": 1}
    assert catalog.load("DupStrategy").fast == 1
    assert entries["OtherStrategy"].source == second.resolve()   # the rest of the file loads
    assert "NameClash: class DupStrategy is already defined in" in catalog.errors[
        str(second.resolve())]
    # a user's folder comes before vn.py's bundled strategies
    assert entries["DoubleMaStrategy"].source == shadow.resolve()
    bundled_file = str(bundled_folder() / "double_ma_strategy.py")
    assert "NameClash: class DoubleMaStrategy" in catalog.errors[bundled_file]


def test_nothing_is_added_to_sys_path_or_written_to_plugin_folders(tmp_path, catalogs):
    folder = tmp_path / "plugins"
    write(folder, "mine.py", strategy("PathStrategy"))
    write(folder, "helper_user.py", strategy("HelperUser", extra="import mine  # noqa"))
    before = list(sys.path)
    catalog = catalogs([folder, SHIPPED_FOLDER])
    catalog.refresh()
    catalog.load("PathStrategy")
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


def test_the_same_file_name_in_two_folders_gives_two_modules(tmp_path, catalogs):
    write(tmp_path / "a", "same.py", strategy("AStrategy"))
    write(tmp_path / "b", "same.py", strategy("BStrategy"))
    catalog = catalogs([tmp_path / "a", tmp_path / "b"], bundled=False)
    entries = catalog.refresh()
    assert entries["AStrategy"].module != entries["BStrategy"].module
    assert catalog.load("AStrategy").__module__ == entries["AStrategy"].module
    assert not catalog.errors


# --------------------------------------------------------------------------- workers
def test_load_class_for_a_worker(tmp_path, catalogs):
    folder = tmp_path / "plugins"
    write(folder, "mine.py", strategy("WorkerStrategy", fast=7))
    catalog = catalogs([folder])
    path = catalog.module_path("WorkerStrategy")
    assert load_class(path, "WorkerStrategy").fast == 7
    bundled = catalog.module_path("TurtleSignalStrategy")
    assert load_class(bundled, "TurtleSignalStrategy") is catalog.get("TurtleSignalStrategy").cls
    with pytest.raises(PluginError, match="no strategy class 'Missing'"):
        load_class(path, "Missing")

    # in a fresh process (as a backtest worker): the class comes from the file alone, the
    # user's file checked first (its entry's loader says so)
    loader = catalog.get("WorkerStrategy").worker_loader()
    assert loader.args == (str(path), "WorkerStrategy", catalog.check_seconds)
    code = textwrap.dedent(f"""\
        import sys
        import vnpy_ctastrategy  # noqa: F401  (vn.py itself appends its folder to sys.path)
        from terminal.plugins.loader import load_class
        before = list(sys.path)
        cls = load_class({str(path)!r}, "WorkerStrategy", 30.0)
        macd = load_class({str(SHIPPED_FOLDER / 'macd_trend.py')!r}, "MacdTrendStrategy")
        assert sys.path == before
        print(cls.__name__, cls.fast, macd.slow_period)
        """)
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["WorkerStrategy", "7", "26"]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_load_class_with_a_check_fails_with_the_reason_and_survives(tmp_path, name):
    folder = tmp_path / "plugins"
    write_hostile(folder)
    strategy_name = name.removesuffix(".py").capitalize() + "Strategy"
    with pytest.raises(PluginError) as raised:
        load_class(folder / name, strategy_name, LIMIT)
    assert str(raised.value) == f"{folder / name}: {HOSTILE[name][1]}"
    assert imported_here(folder) == [] and check_processes() == []


# --------------------------------------------------------------------------- the terminal
@pytest.mark.slow
def test_smoke_passes_with_hostile_plugins_in_the_user_folder(tmp_path):
    from tests.helpers.processes import run_terminal

    folder = tmp_path / "my plugins"
    write_hostile(folder)
    data, home = tmp_path / "data", tmp_path / "home"
    data.mkdir()
    home.mkdir()
    (data / "settings.json").write_text(json.dumps(
        {"plugin_folder": str(folder), "plugin_check_seconds": LIMIT}))
    result = run_terminal(["--home", str(data), "--smoke", "2"], home, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("smoke: ok"), result.stdout
