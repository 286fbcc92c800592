#!/usr/bin/env bash
# Build the PyInstaller program (build.spec) and check that what was built works.
#
#   scripts/check_frozen.sh              build with `pyinstaller --noconfirm --clean build.spec`,
#                                        then check dist/trading-terminal/
#   scripts/check_frozen.sh --no-build   check the dist/trading-terminal/ already there
#   scripts/check_frozen.sh --keep       keep the temporary folder (printed) for a look
#
# Checks, each on a data directory of its own in a temporary folder, with HOME pointed at an
# empty temporary folder that must stay empty:
#   1. `trading-terminal --home DIR --smoke 5` (offscreen Qt) exits 0 and prints `smoke: ok`;
#   2. a strategy plugin in a user plugin folder (settings.json `plugin_folder`) is loaded by
#      the built program: bars are imported with `trading-terminal data import` (rb2401
#      1-minute bars, the recorded file in ../shared/data, read in place; another file with
#      CHECK_FROZEN_CSV) and the user's strategy is backtested with `trading-terminal
#      backtest`, then optimised with `trading-terminal optimise --workers 2` (forked worker
#      processes); a shipped plugin (plugins/) and one of vnpy_ctastrategy's bundled
#      strategies are backtested too;
#   3. prints the size of dist/trading-terminal and how long the build took.
# Exits non-zero, saying which check failed, on any failure. Writes only to a temporary
# folder, build/ and dist/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
DIST="$ROOT/dist/trading-terminal"
EXE="$DIST/trading-terminal"
CSV="${CHECK_FROZEN_CSV:-$ROOT/../shared/data/cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv}"
SYMBOL="rb2401.SHFE"
START="2023-09-25"
END="2023-10-10"

build=1
keep=0
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "check_frozen: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/check-frozen.XXXXXX")"
cleanup() {
    if [[ $keep == 1 ]]; then
        echo "temporary files kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

fail() {
    echo "check_frozen: FAILED: $*" >&2
    exit 1
}
step() { echo "== $*"; }

FAKE_HOME="$WORK/home"
mkdir -p "$FAKE_HOME" "$WORK/cwd"
home_must_be_empty() {
    if [[ -n "$(ls -A "$FAKE_HOME")" ]]; then
        fail "$1 wrote into the home folder: $(cd "$FAKE_HOME" && find . -mindepth 1 | head -5 | tr '\n' ' ')"
    fi
}

# Run the built program from an empty working directory with the temporary home; the
# output goes to $WORK/<name>.out and .err. Returns the program's exit code.
run_frozen() {
    local name="$1"
    shift
    local rc=0
    (cd "$WORK/cwd" && env -u TERMINAL_HOME -u XDG_CONFIG_HOME -u XDG_CACHE_HOME \
        -u XDG_DATA_HOME HOME="$FAKE_HOME" QT_QPA_PLATFORM=offscreen "$EXE" "$@") \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    return $rc
}

show_output() {
    echo "--- stdout of $1 (last lines)" >&2
    tail -n 15 "$WORK/$1.out" >&2 || true
    echo "--- stderr of $1 (last lines)" >&2
    tail -n 25 "$WORK/$1.err" >&2 || true
}

# ---------------------------------------------------------------------------- build
build_seconds=""
if [[ $build == 1 ]]; then
    [[ -x "$PY" ]] || fail "no virtual environment at $VENV (python -m venv .venv && .venv/bin/pip install -e .)"
    if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
        step "installing the build extra (PyInstaller) into .venv"
        mapfile -t requirements < <("$PY" - "$ROOT/pyproject.toml" <<'EOF'
import sys
import tomllib

with open(sys.argv[1], "rb") as file:
    project = tomllib.load(file)["project"]
print("\n".join(project["optional-dependencies"]["build"]))
EOF
)
        "$PY" -m pip install --quiet "${requirements[@]}" || fail "pip could not install ${requirements[*]}"
    fi
    mkdir -p "$ROOT/build"
    log="$ROOT/build/pyinstaller.log"
    step "building: pyinstaller --noconfirm --clean build.spec (log: build/pyinstaller.log)"
    started=$(date +%s.%N)
    # PyInstaller's cache goes to build/, and the analysis (which imports vn.py) gets the
    # temporary home, so nothing lands in the user's folders.
    if ! (cd "$ROOT" && env HOME="$FAKE_HOME" PYINSTALLER_CONFIG_DIR="$ROOT/build/pyinstaller-config" \
            "$VENV/bin/pyinstaller" --noconfirm --clean build.spec) >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        fail "pyinstaller build.spec failed (whole log in $log)"
    fi
    build_seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
    rm -rf "$FAKE_HOME" && mkdir -p "$FAKE_HOME"
fi
[[ -x "$EXE" ]] || fail "no built program at $EXE (run without --no-build)"

# ---------------------------------------------------------------------------- 1. smoke
step "1. smoke: trading-terminal --smoke 5 (offscreen)"
rc=0
run_frozen smoke --home "$WORK/smoke-data" --smoke 5 || rc=$?
smoke_line="$(grep -m1 '^smoke:' "$WORK/smoke.out" || true)"
if [[ $rc != 0 || "$smoke_line" != "smoke: ok"* ]]; then
    show_output smoke
    fail "the smoke run exited $rc${smoke_line:+ with: $smoke_line}"
fi
echo "$smoke_line"
home_must_be_empty "the smoke run"

# ---------------------------------------------------------------------------- 2. plugins
step "2. a user strategy plugin, backtested and optimised by the built program"
[[ -f "$CSV" ]] || fail "no bars to import: $CSV is missing (set CHECK_FROZEN_CSV to a 1-minute bar CSV of $SYMBOL)"
DATA="$WORK/data"
PLUGINS="$WORK/user plugins"          # a space in the path, as users have
mkdir -p "$PLUGINS" && mkdir -m 700 -p "$DATA"    # private, as the terminal wants its data directory
"$PY" - "$DATA/settings.json" "$PLUGINS" <<'EOF'
import json
import sys

with open(sys.argv[1], "w", encoding="utf-8") as file:
    json.dump({"plugin_folder": sys.argv[2]}, file)
EOF
cat >"$PLUGINS/frozen_check.py" <<'EOF'
"""A user strategy for scripts/check_frozen.sh: two moving averages (TA-Lib's SMA through
vn.py's ArrayManager), always in the market on the fast one's side."""

from vnpy_ctastrategy import ArrayManager, BarData, CtaTemplate, TickData

LOADED_FROM_USER_FOLDER = True


class FrozenCheckStrategy(CtaTemplate):
    """Long while the fast average is above the slow one, short while below."""

    author = "check_frozen.sh"
    fast_window: int = 5
    slow_window: int = 20
    fast_ma: float = 0.0
    slow_ma: float = 0.0
    parameters = ["fast_window", "slow_window"]
    variables = ["fast_ma", "slow_ma"]

    def on_init(self) -> None:
        self.am = ArrayManager(self.slow_window + 5)

    def on_start(self) -> None:
        pass

    def on_stop(self) -> None:
        pass

    def on_tick(self, tick: TickData) -> None:
        pass

    def on_bar(self, bar: BarData) -> None:
        self.cancel_all()
        self.am.update_bar(bar)
        if not self.am.inited:
            return
        self.fast_ma = self.am.sma(self.fast_window)
        self.slow_ma = self.am.sma(self.slow_window)
        if self.fast_ma > self.slow_ma and self.pos <= 0:
            if self.pos < 0:
                self.cover(bar.close_price + 5, abs(self.pos))
            self.buy(bar.close_price + 5, 1)
        elif self.fast_ma < self.slow_ma and self.pos >= 0:
            if self.pos > 0:
                self.sell(bar.close_price - 5, abs(self.pos))
            self.short(bar.close_price - 5, 1)
EOF

rc=0
run_frozen import --home "$DATA" data import "$CSV" || rc=$?
if [[ $rc != 0 ]]; then show_output import; fail "trading-terminal data import exited $rc"; fi
echo "data import: $(head -n1 "$WORK/import.out")"

fills() { grep -m1 -E '^Fills ' "$WORK/$1.out" | awk '{print $NF}'; }

backtest() {   # name strategy where
    local rc=0
    run_frozen "$1" --home "$DATA" backtest "$2" "$SYMBOL" --start "$START" --end "$END" || rc=$?
    if [[ $rc != 0 ]]; then show_output "$1"; fail "backtest of $3 $2 exited $rc"; fi
    grep -q '^run .* (done)' "$WORK/$1.out" || { show_output "$1"; fail "backtest of $3 $2 saved no done run"; }
    local n
    n="$(fills "$1")"
    [[ -n "$n" && "$n" != 0 ]] || { show_output "$1"; fail "backtest of $3 $2 made no trades"; }
    echo "backtest, $3 $2: exit 0, $n fills, $(grep -m1 -E '^Net P&L ' "$WORK/$1.out" | sed -E 's/ {2,}/ /g')"
}
backtest user FrozenCheckStrategy "user plugin"
grep -q "^FrozenCheckStrategy on $SYMBOL" "$WORK/user.out" || fail "the backtest did not run the user's FrozenCheckStrategy"
backtest shipped MacdTrendStrategy "shipped plugin"
backtest bundled DoubleMaStrategy "vnpy_ctastrategy's"

rc=0
run_frozen optimise --home "$DATA" optimise FrozenCheckStrategy "$SYMBOL" --start "$START" \
    --end "$END" --range fast_window=3:9:3 --range slow_window=20,30 --target total_net_pnl \
    --workers 2 || rc=$?
if [[ $rc != 0 ]]; then show_output optimise; fail "optimise (2 forked workers) of the user plugin exited $rc"; fi
evaluated="$(grep -m1 'settings evaluated in' "$WORK/optimise.out" || true)"
best="$(grep -m1 '^best:' "$WORK/optimise.out" || true)"
[[ "$evaluated" == "6 settings evaluated"* && -n "$best" ]] || { show_output optimise; fail "optimise did not evaluate the 6 settings"; }
echo "optimise, user plugin, 2 worker processes: $evaluated; $best"
if grep -q -E 'Traceback|Error' "$WORK/optimise.err"; then
    show_output optimise
    fail "optimise printed an error"
fi
home_must_be_empty "the plugin checks"
[[ -z "$(ls -A "$WORK/cwd")" ]] || fail "the built program wrote into its working directory"

# ---------------------------------------------------------------------------- 3. figures
step "3. figures"
echo "built folder: $(du -sh "$DIST" | cut -f1) ($DIST)"
if [[ -n "$build_seconds" ]]; then
    echo "build time: ${build_seconds} s (pyinstaller --noconfirm --clean build.spec)"
else
    echo "build time: not built by this run (--no-build)"
fi
echo "check_frozen: all checks passed"
