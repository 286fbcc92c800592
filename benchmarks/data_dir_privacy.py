"""What making the data directory private costs at start: `core.paths.prepare` now against
`prepare` as it was before (read from git), on a data directory an older version left open
(0755 folders, 0644 files) holding a market store of many Parquet parts.

Hand-run from the project root (not a test; POSIX only):
    .venv/bin/python benchmarks/data_dir_privacy.py                   # 2,000 and 20,000 files
    .venv/bin/python benchmarks/data_dir_privacy.py --files 100000 --repeat 3
    .venv/bin/python benchmarks/data_dir_privacy.py --before 1a2b3c4  # prepare of that commit

Three cases, medians over --repeat runs, each on the same tree:
- before: the previous `prepare` (no modes looked at) on the open tree;
- first start: this `prepare` on the open tree: it walks it once and chmods every entry;
- later starts: this `prepare` on the tree it made private (the folder's mode is checked, the
  tree is not walked).
The tree is made open again (not timed) before each "before" and "first start" run. The page
cache is warm: the tree was just written, as after any recent use of the terminal.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from functools import partial
from pathlib import Path

from harness import ROOT

sys.path.insert(0, str(ROOT))


def build_tree(root: Path, files: int) -> None:
    """A data directory as an older version left it: the folders `prepare` makes, a journal,
    logs, and `files` Parquet parts in market/bars/<exchange>/<symbol>/<interval>/."""
    for folder in (".vntrader/log", "logs", "cache"):
        (root / folder).mkdir(parents=True)
    for name in ("journal.db", "journal.db-wal", "logs/terminal.log", "connections.json"):
        (root / name).write_bytes(b"x" * 64)
    series = 0
    while files > 0:
        exchange, symbol = ("SHFE", "DCE", "CZCE", "CFFEX")[series % 4], f"s{series:05d}"
        for interval in ("1m", "5m", "d"):
            folder = root / "market" / "bars" / exchange / symbol / interval
            folder.mkdir(parents=True)
            for part in range(min(files, 3)):
                (folder / f"part-{part:06d}.parquet").write_bytes(b"PAR1")
            files -= 3
            if files <= 0:
                break
        series += 1


def open_tree(root: Path) -> int:
    """chmod the tree back to 0755/0644; returns its entries."""
    count = 0
    for folder, _, names in os.walk(root):
        os.chmod(folder, 0o755)  # noqa: S103 - opened on purpose: the run times making it private
        count += 1
        for name in names:
            os.chmod(os.path.join(folder, name), 0o644)
            count += 1
    return count


def previous_prepare(commit: str):
    """`prepare` as it was at `commit` (its module loaded from git under another name)."""
    source = subprocess.run(["git", "show", f"{commit}:terminal/core/paths.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType("paths_before")
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    code = compile(source, f"{commit}:terminal/core/paths.py", "exec")
    exec(code, module.__dict__)  # noqa: S102 - the project's own paths.py, read from git
    return module.prepare


def baseline_commit() -> str:
    """The parent of the commit that added core/privacy.py (HEAD while it is uncommitted)."""
    added = subprocess.run(["git", "log", "-1", "--format=%h", "--diff-filter=A", "--",
                            "terminal/core/privacy.py"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.strip()
    return f"{added}~1" if added else "HEAD"


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, nargs="+", default=[2_000, 20_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", default=None,
                        help="the commit whose prepare is the baseline (default: the last one "
                             "before core/privacy.py was added)")
    args = parser.parse_args()
    if os.name != "posix":
        sys.exit("file modes are POSIX's; nothing to measure here")
    from terminal.core import paths

    args.before = args.before or baseline_commit()
    before = previous_prepare(args.before)
    here = os.getcwd()
    print(f"prepare() of {args.before} against this one, median of {args.repeat} "
          "(seconds; ratio to before)")
    print(f"{'files':>8} {'entries':>8} {'before':>9} {'first start':>18} {'later starts':>18}")
    for files in args.files:
        with tempfile.TemporaryDirectory(prefix="privacy-bench-") as scratch:
            roots = {name: Path(scratch) / name for name in ("before", "now")}
            for root in roots.values():
                build_tree(root, files)
            old, first, later = [], [], []
            for _ in range(args.repeat):
                entries = open_tree(roots["before"])
                old.append(timed(partial(before, roots["before"])))
                open_tree(roots["now"])
                paths._notes.clear()  # a new process: nothing prepared yet
                first.append(timed(partial(paths.prepare, roots["now"])))
                paths._notes.clear()
                later.append(timed(partial(paths.prepare, roots["now"])))
            os.chdir(here)
            base = statistics.median(old)
            cells = [f"{statistics.median(t):.4f} ({statistics.median(t) / base:5.1f}x)"
                     for t in (first, later)]
            print(f"{files:>8,} {entries:>8,} {base:>9.4f} {cells[0]:>18} {cells[1]:>18}")


if __name__ == "__main__":
    main()
