"""Cold start: from process start to the first painted main window, this terminal against
VeighNa Trader's stock main window.

Hand-run from the project root (not a test):
    .venv/bin/python benchmarks/cold_start.py                  # 5 rounds, Xvfb when installed
    .venv/bin/python benchmarks/cold_start.py --rounds 9 --display offscreen
    .venv/bin/python benchmarks/cold_start.py --plugins 20 --before b7c85bd   # plugin folder

Candidates, each a fresh process per round:
- terminal, source: the `trading-terminal` console script of .venv (python, then every import);
- terminal, frozen: dist/trading-terminal/trading-terminal, when that build exists
  (scripts/check_frozen.sh or `pyinstaller --noconfirm --clean build.spec`);
- VeighNa Trader, stock: `create_qapp()`, `EventEngine`, `MainEngine`, `vnpy.trader.ui.MainWindow`,
  `showMaximized()` and `exec()`, nothing added;
- VeighNa Trader, run.py: the same with `add_gateway(CtpGateway)` and `add_app(CtaStrategyApp)`
  (the usual run script; what the terminal has loaded at start too).

With `--plugins N` (20 is the figure of issue 16), the terminal also starts with a user plugin
folder of N strategy files (copies of the shipped strategies under other class names, so
each imports what a real one does), as `python -m terminal` from this checkout:
- "N plugin files": the usual start, the files' check verdicts kept (made once before the
  rounds, as any earlier session that outlived its checks leaves them);
- "N plugin files, first start": the verdicts deleted before every start, so the files are
  checked again: the check process starts once the window has settled, after the paint;
- with `--before REV`, "before (REV), N plugin files": the same folder with the code of
  commit REV (exported with `git archive` into the work folder, run with PYTHONPATH), for the
  figure side by side with the code before a change.

The time is the one `terminal.ui.startup_probe` reports: seconds from the kernel's start time
of the process (so the interpreter's own start-up and all imports count) to the main window's
first Paint event, measured inside the process. The terminal installs the probe itself
(TERMINAL_REPORT_FIRST_PAINT=1, TERMINAL_QUIT_AFTER_FIRST_PAINT=1); the stock scripts install
the same probe on vn.py's MainWindow (and leave the event loop after that paint themselves:
`QApplication.quit()` would ask vn.py's window to close, which asks the user first). Every
process quits after its first paint.

Each candidate runs once unmeasured first (file caches warm, its data directory and font
cache created), then --rounds rounds in which all candidates run one after another, the
order rotating each round; medians, min and max are printed side by side with the ratio to
the stock window. Every candidate gets a temporary HOME and data/working directory: the
terminal its `--home`, vn.py a working directory holding `.vntrader` (so it keeps its files
there, not in the home); all are deleted at the end.

Display: Xvfb (a virtual X server, the xcb platform plugin, 1920x1080x24) when `Xvfb` is
installed, else Qt's offscreen platform; --display picks one (`current` uses $DISPLAY).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import ROOT, export_tree

VENV_BIN = Path(sys.executable).parent
FROZEN = ROOT / "dist" / "trading-terminal" / "trading-terminal"
LINE = re.compile(r"^first-paint: seconds=(\d+(?:\.\d+)?)", re.MULTILINE)
SCREEN = "1920x1080x24"

STOCK_SCRIPT = textwrap.dedent("""
    import os
    import sys

    from vnpy.event import EventEngine
    from vnpy.trader.engine import MainEngine
    from vnpy.trader.ui import MainWindow, create_qapp
    from vnpy.trader.ui.qt import QtCore

    from terminal.ui import startup_probe

    class ExitAfterPaint(QtCore.QObject):
        # QApplication.quit() would ask vn.py's window to close, and it asks "exit?" first
        def eventFilter(self, watched, event):
            if event.type() == QtCore.QEvent.Type.Paint:
                watched.removeEventFilter(self)
                QtCore.QTimer.singleShot(0, lambda: QtCore.QCoreApplication.exit(0))
            return False

    def main() -> None:
        qapp = create_qapp()
        event_engine = EventEngine()
        main_engine = MainEngine(event_engine)
        if "--run-py" in sys.argv:
            from vnpy_ctp import CtpGateway
            from vnpy_ctastrategy import CtaStrategyApp

            main_engine.add_gateway(CtpGateway)
            main_engine.add_app(CtaStrategyApp)
        main_window = MainWindow(main_engine, event_engine)
        startup_probe.install(main_window)
        exit_after_paint = ExitAfterPaint(main_window)
        main_window.installEventFilter(exit_after_paint)
        main_window.showMaximized()
        qapp.exec()
        sys.stdout.flush()
        os._exit(0)     # vn.py's engine threads are not daemons; the figure is taken

    main()
""")


# The verdicts a terminal keeps after any session that outlived its plugin checks.
CHECK_ALL = textwrap.dedent("""
    import sys
    from pathlib import Path

    from terminal.core import paths

    data = paths.prepare(Path(sys.argv[1]))
    from terminal.plugins.loader import StrategyCatalog, plugin_folders

    catalog = StrategyCatalog(plugin_folders(sys.argv[2]),
                              cache_file=data.cache_dir / "plugin_checks.json")
    catalog.refresh()
    assert not catalog.errors, catalog.errors
""")


@dataclass
class Candidate:
    label: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    times: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    before_start: Callable[[], None] | None = None     # run before each start (not timed)


# --------------------------------------------------------------------------- display
class Display:
    """Where the windows go: env entries for the children, and a description."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.env: dict[str, str] = {}
        self.server: subprocess.Popen | None = None
        if kind == "auto":
            kind = "xvfb" if shutil.which("Xvfb") else "offscreen"
        if kind == "xvfb":
            number = self._start_xvfb()
            self.env = {"DISPLAY": f":{number}", "QT_QPA_PLATFORM": "xcb"}
            self.description = f"Xvfb :{number} ({SCREEN}), Qt platform xcb"
        elif kind == "current":
            if not os.environ.get("DISPLAY"):
                raise SystemExit("--display current: $DISPLAY is not set")
            self.env = {"DISPLAY": os.environ["DISPLAY"], "QT_QPA_PLATFORM": "xcb"}
            self.description = f"the X server at {os.environ['DISPLAY']}, Qt platform xcb"
        else:
            self.env = {"QT_QPA_PLATFORM": "offscreen"}
            self.description = "Qt offscreen platform (no X server; raster painting in memory)"

    def _start_xvfb(self) -> int:
        if not shutil.which("Xvfb"):
            raise SystemExit("--display xvfb: Xvfb is not installed (apt-get install xvfb)")
        read_end, write_end = os.pipe()
        self.server = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", SCREEN, "-nolisten", "tcp"],
            pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        os.close(write_end)
        text = b""
        deadline = time.monotonic() + 20
        while not text.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([read_end], [], [], 0.5)
            if ready:
                chunk = os.read(read_end, 32)
                if not chunk:
                    break
                text += chunk
        os.close(read_end)
        if not text.strip().isdigit():
            self.close()
            raise SystemExit("Xvfb did not start (no display number reported)")
        return int(text)

    def close(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
        self.server = None


# --------------------------------------------------------------------------- candidates
def base_env(display: Display, home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TERMINAL_", "XDG_", "QT_", "PYINSTALLER"))
           and key not in ("DISPLAY", "WAYLAND_DISPLAY", "PYTHONPATH")}
    env.update(display.env)
    env.update(HOME=str(home), TERMINAL_REPORT_FIRST_PAINT="1",
               TERMINAL_QUIT_AFTER_FIRST_PAINT="1")
    return env


def plugin_folder(folder: Path, count: int) -> Path:
    """`count` strategy files made from the shipped ones, each class renamed."""
    shipped = sorted((ROOT / "plugins").glob("*.py"))
    folder.mkdir(parents=True)
    for number in range(count):
        source = shipped[number % len(shipped)]
        text = source.read_text(encoding="utf-8")
        for name in re.findall(r"^class (\w+)\(", text, re.MULTILINE):
            text = re.sub(rf"\b{name}\b", f"{name}{number:02d}", text)
        (folder / f"user_{number:02d}_{source.name}").write_text(text, encoding="utf-8")
    return folder


def plugin_candidates(work: Path, display: Display, count: int,
                      before: str | None) -> list[Candidate]:
    """The terminal with a user plugin folder of `count` files: this checkout (verdicts kept,
    and verdicts deleted before each start), and the code of `before`."""
    plugins = plugin_folder(work / "user-plugins", count)
    trees = [("", ROOT)]
    if before:
        trees.append((before, export_tree(before, work / f"before-{before}")))
    found = []
    for revision, tree in trees:
        for first_start in ((False, True) if not revision else (False,)):
            name = f"plugins-{revision or 'now'}{'-first' if first_start else ''}"
            cwd = work / name
            data = cwd / "data"
            data.mkdir(parents=True, mode=0o700)   # private, or the terminal refuses it
            (data / "settings.json").write_text(json.dumps({"plugin_folder": str(plugins)}))
            env = base_env(display, work / f"{name}-home")
            (work / f"{name}-home").mkdir()
            env["PYTHONPATH"] = str(tree)
            label = (f"terminal before ({revision}), {count} plugin files" if revision
                     else f"terminal, {count} plugin files"
                     + (", first start" if first_start else ""))
            cache = data / "cache" / "plugin_checks.json"
            if not revision and not first_start:
                subprocess.run([sys.executable, "-c", CHECK_ALL, str(data), str(plugins)],
                               env=env, cwd=cwd, check=True, capture_output=True)
                if not cache.exists():
                    raise SystemExit(f"the plugin check left no verdicts in {cache}")
            found.append(Candidate(label, [sys.executable, "-m", "terminal", "--home",
                                           str(data)], cwd, env,
                                   before_start=(lambda c=cache: c.unlink(missing_ok=True))
                                   if first_start else None))
    return found


def candidates(work: Path, display: Display, frozen: bool) -> list[Candidate]:
    found = []

    def folder(name: str) -> Path:
        path = work / name
        path.mkdir(parents=True)
        return path

    source = folder("source")
    script = VENV_BIN / "trading-terminal"
    if not script.exists():
        raise SystemExit(f"{script} not found: install the project (pip install -e .)")
    found.append(Candidate("terminal, source (trading-terminal)",
                           [str(script), "--home", str(source / "data")], source,
                           base_env(display, folder("source-home"))))
    if frozen:
        built = folder("frozen")
        found.append(Candidate("terminal, frozen (dist/trading-terminal)",
                               [str(FROZEN), "--home", str(built / "data")], built,
                               base_env(display, folder("frozen-home"))))
    for label, flag in (("VeighNa Trader, stock MainWindow", []),
                        ("VeighNa Trader, run.py (+CTP, +CTA)", ["--run-py"])):
        name = "stock-run-py" if flag else "stock"
        cwd = folder(name)
        (cwd / ".vntrader").mkdir()       # vn.py keeps its files here, not in the home
        (cwd / "stock_trader.py").write_text(STOCK_SCRIPT, encoding="utf-8")
        home = folder(f"{name}-home")
        env = base_env(display, home)
        del env["TERMINAL_QUIT_AFTER_FIRST_PAINT"]      # the script exits by itself
        env.update(XDG_CACHE_HOME=str(cwd / "cache"), XDG_CONFIG_HOME=str(cwd / "config"),
                   XDG_DATA_HOME=str(cwd / "share"), PYTHONPATH=str(ROOT))
        found.append(Candidate(label, [sys.executable, str(cwd / "stock_trader.py"), *flag],
                               cwd, env))
    return found


def run_once(candidate: Candidate, timeout: float) -> float | None:
    """One start; the reported seconds, or None (the reason added to the failures)."""
    if candidate.before_start is not None:
        candidate.before_start()
    process = subprocess.Popen(candidate.argv, cwd=candidate.cwd, env=candidate.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
    except BaseException:       # interrupted: leave no window behind
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
        found = LINE.search(out or "")
        if found:               # painted, but slow to quit: the figure stands
            return float(found.group(1))
        candidate.failures.append(f"no first paint within {timeout:.0f} s")
        return None
    found = LINE.search(out)
    if found is None:
        tail = (err or out).strip().splitlines()[-3:]
        candidate.failures.append(f"exit {process.returncode}, no first-paint line: "
                                  + " | ".join(tail))
        return None
    return float(found.group(1))


# --------------------------------------------------------------------------- report
def report(found: list[Candidate], display: Display, rounds: int) -> None:
    print(f"\ncold start, process start to first painted main window ({display.description})")
    print(f"{rounds} rounds after one unmeasured start each, the order rotating; seconds; "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    stock = next((c for c in found if c.label.startswith("VeighNa Trader, stock")), None)
    stock_median = statistics.median(stock.times) if stock and stock.times else None
    width = max(len(c.label) for c in found)
    before = next((c for c in found if c.label.startswith("terminal before")), None)
    before_median = statistics.median(before.times) if before and before.times else None
    print(f"{'':{width}}  median    min    max  vs stock" + ("  vs before" if before_median
                                                             else ""))
    for candidate in found:
        if not candidate.times:
            print(f"{candidate.label:{width}}  failed: {candidate.failures[:1]}")
            continue
        median = statistics.median(candidate.times)
        ratio = f"{median / stock_median:7.2f}x" if stock_median else "      -"
        versus = f"  {median / before_median:8.2f}x" if before_median and \
            "plugin files" in candidate.label else ""
        print(f"{candidate.label:{width}}  {median:6.2f} {min(candidate.times):6.2f} "
              f"{max(candidate.times):6.2f}  {ratio}{versus}")
        if candidate.failures:
            print(f"{'':{width}}  ({len(candidate.failures)} failed: {candidate.failures[0]})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--display", choices=("auto", "xvfb", "offscreen", "current"),
                        default="auto")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds a start may take before it is killed")
    parser.add_argument("--no-frozen", action="store_true",
                        help="leave out dist/trading-terminal even when it exists")
    parser.add_argument("--plugins", type=int, default=0, metavar="N",
                        help="also start the terminal with a user plugin folder of N files")
    parser.add_argument("--before", metavar="REV",
                        help="with --plugins: also the code of git revision REV")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))     # clean up when killed
    display = Display(args.display)
    work = Path(tempfile.mkdtemp(prefix="cold-start-"))
    try:
        found = candidates(work, display, FROZEN.exists() and not args.no_frozen)
        if args.plugins:
            found += plugin_candidates(work, display, args.plugins, args.before)
        if FROZEN.exists() is False and not args.no_frozen:
            print(f"(no frozen build at {FROZEN}: build it with scripts/check_frozen.sh)")
        print(f"display: {display.description}")
        for candidate in found:
            seconds = run_once(candidate, args.timeout)
            print(f"warm-up  {candidate.label}: "
                  + (f"{seconds:.2f} s" if seconds is not None else candidate.failures[-1]),
                  flush=True)
            candidate.failures.clear()
        for number in range(args.rounds):
            shift = number % len(found)
            order = found[shift:] + found[:shift]
            figures = []
            for candidate in order:
                seconds = run_once(candidate, args.timeout)
                if seconds is not None:
                    candidate.times.append(seconds)
                figures.append(f"{candidate.label.split(' (')[0]} "
                               + (f"{seconds:.2f}" if seconds is not None else "failed"))
            print(f"round {number + 1}: " + ", ".join(figures), flush=True)
        report(found, display, args.rounds)
        return 0 if all(c.times for c in found) else 1
    finally:
        display.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
