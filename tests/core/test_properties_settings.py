"""Property tests of the settings files: `settings.json` (`terminal.core.settings`, read by
`terminal.core.jsonfile`) and `risk.json` (`terminal.risk.limits`).

Any JSON value in the file gives the default for each bad key with a warning naming the key
and the value, never an exception; a file that is not JSON (or not UTF-8) is moved aside,
kept byte for byte under a clear name, and the defaults are used with a warning; valid
settings saved and loaded again are the same. And the terminal itself starts on a corrupt
settings file, with the defaults, the warning in its log and the broken file kept aside.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields, replace
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from terminal.core import aside
from terminal.core.alerts import SEVERE
from terminal.core import settings as settings_file
from terminal.core.settings import Settings
from terminal.risk import limits
from terminal.risk.limits import (
    DEFAULT_LIMITS,
    LIMIT_NAMES,
    MonitorLimits,
    RiskConfig,
    RiskLimits,
    TradingState,
)
from terminal.core.symbols import canonical_vt_symbol, is_vt_symbol

FILE_SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow])

# JSON as a file may hold it, NaN and Infinity included (Python's json reads and writes them).
SCALARS = (st.none() | st.booleans() | st.integers(-10**400, 10**400) | st.floats()
           | st.text(max_size=20))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)
# Text that is not JSON, or not UTF-8.
NOT_JSON = [b"{not json", b"", b"   ", b"{", b'{"a": 1,}', b"\xff\xfe{}", b"\x00",
            b'{"frame_ms": 16', b"{'frame_ms': 16}", b"[" * 50_000,
            '{"watchlist": ["螺纹钢"]}'.encode("gbk"), '{"a": 1}'.encode("utf-16"),
            b"{}\n{}", b"NaN NaN", b'{"a": 1e}']


def aside_files(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f"{name}.broken-*"))


def shown(value) -> str:
    """The start of a value as warnings quote it."""
    return repr(value)[:30]


# ---------------------------------------------------------------------------- settings.json
DEFAULTS = Settings()
NAMES = [f.name for f in fields(Settings)]


def accepted(name: str, value):
    """The setting `name` takes `value` (as the file gives it) as what, or None when it must
    be refused: the rules each setting states, written out independently of the module."""
    default = getattr(DEFAULTS, name)
    if isinstance(default, bool):
        return (value,) if isinstance(value, bool) else None
    if isinstance(default, dict):
        ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in value.items())
        return (value,) if ok else None
    if isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return (value,) if ok else None
    if isinstance(default, str):
        choices = settings_file.SPECS[name].choices
        ok = isinstance(value, str) and (not choices or value in choices)
        return (value,) if ok else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    low, high = settings_file.SPECS[name].low, settings_file.SPECS[name].high
    if (isinstance(value, float) and math.isnan(value)) or not low <= value <= high:
        return None
    if isinstance(default, int):
        if isinstance(value, float) and not value.is_integer():
            return None
        return (int(value),)
    return (float(value),)


def valid_value(name: str):
    """Values the setting `name` takes."""
    default = getattr(DEFAULTS, name)
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, dict):
        return st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=4)
    if isinstance(default, list):
        return st.lists(st.text(max_size=16), max_size=5)
    if isinstance(default, str):
        choices = settings_file.SPECS[name].choices
        return st.sampled_from(choices) if choices else st.text(max_size=40)
    low, high = settings_file.SPECS[name].low, settings_file.SPECS[name].high
    if isinstance(default, int):
        return st.integers(low, high)
    return st.floats(low, high)


@st.composite
def settings_objects(draw):
    """Settings with any valid value in every field (a value its own rules refuse, which a
    field added later may have, leaves the default)."""
    chosen = {}
    for name in NAMES:
        value = draw(valid_value(name))
        if accepted(name, value) is not None:
            chosen[name] = value
    return replace(DEFAULTS, **chosen)


@st.composite
def settings_data(draw):
    """A decoded settings file: known keys with good or bad values, and unknown keys."""
    data = {}
    for name in draw(st.lists(st.sampled_from(NAMES), unique=True)):
        data[name] = draw(valid_value(name) | JSON)
    for key in draw(st.lists(st.text(max_size=100).filter(lambda k: k not in NAMES),
                             max_size=2)):
        data[key] = draw(JSON)
    return data


@FILE_SETTINGS
@given(data=settings_data() | JSON)
@example(data={"frame_ms": float("inf"), "sim_seed": float("nan"), "sim_capital": 10**400})
@example(data={"frame_ms": 10**400, "sim_quote_rate": -10**400, "watchlist": [1, "a"]})
@example(data={"frame_ms": 16.0, "sim_seed": 7.0, "theme": "blue", "shortcuts": {"a": 1}})
def test_any_json_gives_settings_and_a_warning_per_bad_key(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("settings") / "settings.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded, warnings = settings_file.load(path)
    assert path.read_text(encoding="utf-8") == json.dumps(data)  # a JSON file stays put
    assert all(isinstance(w, str) and len(w) < 400 for w in warnings)
    if not isinstance(data, dict):
        assert loaded == DEFAULTS and len(warnings) == 1 and "JSON object" in warnings[0]
        return
    expected = {}
    for key, value in data.items():
        if key not in NAMES:
            assert any(w.startswith(key[:76]) and "unknown setting" in w for w in warnings)
            continue
        mine = [w for w in warnings if w.startswith(f"{key}:")]
        verdict = accepted(key, value)
        if verdict is None:
            assert mine, f"{key}={value!r} refused without a warning: {warnings}"
            assert any(shown(value)[:20] in w and "default" in w for w in mine), (value, mine)
        else:
            assert not mine, (key, value, mine)
            expected[key] = verdict[0]
    assert loaded == replace(DEFAULTS, **expected)
    assert len(warnings) == len(data) - len(expected)


@FILE_SETTINGS
@given(content=st.binary(max_size=300) | st.sampled_from(NOT_JSON))
def test_any_bytes_load_or_are_kept_aside_unchanged(tmp_path_factory, content):
    loaded_or_kept_aside(tmp_path_factory.mktemp("settings"), "settings.json", content,
                         settings_file, DEFAULTS, "defaults used")


def loaded_or_kept_aside(folder, name: str, content: bytes, loader, defaults, used: str):
    """`loader.load` of a file holding `content`: what `loader.parse` makes of it if it is
    JSON, else the defaults with one warning, the file moved aside byte for byte."""
    path = folder / name
    path.write_bytes(content)
    loaded, warnings = loader.load(path)
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        (aside,) = aside_files(folder, name)
        assert aside.read_bytes() == content and not path.exists()
        assert loaded == defaults and len(warnings) == 1
        assert "unreadable" in warnings[0] and aside.name in warnings[0]
        assert used in warnings[0]
    else:
        assert path.read_bytes() == content and not aside_files(folder, name)
        assert (loaded, warnings) == loader.parse(data)


@FILE_SETTINGS
@given(value=settings_objects())
def test_settings_saved_load_the_same(tmp_path_factory, value):
    path = tmp_path_factory.mktemp("settings") / "settings.json"
    settings_file.save(path, value)
    assert settings_file.load(path) == (value, [])
    assert sorted(path.parent.iterdir()) == [path]  # no temporary file left


def test_corrupt_settings_file_falls_back_to_defaults_with_a_warning_and_keeps_the_broken_file_aside(  # noqa: E501
        tmp_path):
    path = tmp_path / "settings.json"
    broken = b'{"frame_ms": 20, \xff "watchlist": [}'
    path.write_bytes(broken)
    loaded, warnings = settings_file.load(path)
    assert loaded == Settings()
    (aside,) = aside_files(tmp_path, "settings.json")
    assert aside.read_bytes() == broken and not path.exists()
    assert len(warnings) == 1
    assert "settings.json is unreadable" in warnings[0] and f"kept as {aside.name}" in warnings[0]


def test_files_broken_within_one_second_are_all_kept(tmp_path, monkeypatch):
    """Regression: a second broken file moved aside in the same second replaced the first."""
    monkeypatch.setattr(aside.time, "strftime", lambda _: "20260101-120000")
    path = tmp_path / "settings.json"
    for text in ("{first", "{second", "{third"):
        path.write_text(text)
        settings_file.load(path)
    kept = aside_files(tmp_path, "settings.json")
    assert sorted(p.read_text() for p in kept) == ["{first", "{second", "{third"]
    assert [p.name for p in kept] == ["settings.json.broken-20260101-120000",
                                      "settings.json.broken-20260101-120000-2",
                                      "settings.json.broken-20260101-120000-3"]


def test_a_byte_order_mark_is_no_error(tmp_path):
    """Regression: a file saved with a UTF-8 byte-order mark (Notepad) was moved aside."""
    path = tmp_path / "settings.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"frame_ms": 20}).encode())
    assert settings_file.load(path) == (replace(Settings(), frame_ms=20), [])
    assert path.exists() and not aside_files(tmp_path, "settings.json")


# ---------------------------------------------------------------------------- risk.json
def limit_accepted(name: str, value, base: RiskLimits):
    """What limit `name` becomes for `value`: (value,) or None when refused (then `base`'s
    value applies)."""
    default = getattr(DEFAULT_LIMITS, name)
    if isinstance(default, bool):
        return (value,) if isinstance(value, bool) else None
    if value is None:
        return (type(default)(0),)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    low, high = limits.LIMIT_SPECS[name].low, limits.LIMIT_SPECS[name].high
    if (isinstance(value, float) and math.isnan(value)) or not low <= value <= high:
        return None
    if isinstance(default, int):
        return (int(value),) if float(value).is_integer() else None
    return (float(value),)


def monitor_accepted(name: str, value):
    if name == "flatten_on_position_loss":
        return (value,) if isinstance(value, bool) else None
    low, high = limits.MONITOR_SPECS[name].low, limits.MONITOR_SPECS[name].high
    number = 0.0 if value is None else value
    if isinstance(number, bool) or not isinstance(number, (int, float)) \
            or (isinstance(number, float) and math.isnan(number)) or not low <= number <= high:
        return None
    return (float(number),)


MONITOR_NAMES = [f.name for f in fields(MonitorLimits)]


def limit_value(name: str, none: bool = True):
    """Values limit `name` takes (null is 0: off)."""
    default = getattr(DEFAULT_LIMITS, name)
    if isinstance(default, bool):
        return st.booleans()
    low, high = limits.LIMIT_SPECS[name].low, limits.LIMIT_SPECS[name].high
    number = st.integers(int(low), int(high)) if isinstance(default, int) else \
        st.floats(low, high)
    return number | st.none() if none else number


def monitor_value(name: str, none: bool = True):
    if name == "flatten_on_position_loss":
        return st.booleans()
    low, high = limits.MONITOR_SPECS[name].low, limits.MONITOR_SPECS[name].high
    number = st.floats(low, high) | st.integers(int(low), int(high))
    return number | st.none() if none else number


def limits_object(name_value):
    return st.dictionaries(st.sampled_from(LIMIT_NAMES), JSON, max_size=4).flatmap(
        lambda bad: st.fixed_dictionaries({}, optional={
            name: name_value(name) for name in LIMIT_NAMES}).map(lambda good: {**good, **bad}))


@st.composite
def risk_data(draw):
    data = {}
    if draw(st.booleans()):
        data["state"] = draw(st.sampled_from([s.value for s in TradingState]
                                             + ["halted", "reduce-only", "paused", ""]) | JSON)
    if draw(st.booleans()):
        data["global"] = draw(limits_object(limit_value) | JSON)
    if draw(st.booleans()):
        data["symbols"] = draw(st.dictionaries(
            st.sampled_from(["rb2701.SHFE", "IF2612.CFFEX", "bad", ".SHFE", "x."])
            | st.text(max_size=12), limits_object(limit_value) | JSON, max_size=3) | JSON)
    if draw(st.booleans()):
        data["monitors"] = draw(st.fixed_dictionaries({}, optional={
            name: monitor_value(name) | JSON for name in MONITOR_NAMES}) | JSON)
    if draw(st.booleans()):
        data[draw(st.text(max_size=10).filter(
            lambda k: k not in ("state", "global", "symbols", "monitors", "review")))] = draw(JSON)
    return data


def expected_limits(raw: dict, where: str, base: RiskLimits, warnings: list[str],
                    unreadable: list[str]) -> dict:
    """The keys of one limits object that must be taken; checks the warnings of the rest (an
    unknown key makes the file unreadable instead)."""
    good = {}
    for key, value in raw.items():
        mine = [w for w in warnings if w.startswith(f"{where}.{key}:")]
        if key not in LIMIT_NAMES:
            unreadable.append(f"{where}.{key}: not a risk limit")
            assert not mine, mine
            continue
        if where != "global" and key in limits.ACCOUNT_WIDE:     # the account's, not a symbol's
            assert mine and "no per-symbol value" in mine[0], (key, warnings)
            continue
        verdict = limit_accepted(key, value, base)
        if verdict is None:
            assert mine, f"{where}.{key}={value!r} refused without a warning: {warnings}"
            assert any(shown(value)[:20] in w for w in mine), (value, mine)
        else:
            assert not mine, mine
            good[key] = verdict[0]
    return good


@FILE_SETTINGS
@given(data=risk_data() | JSON)
@example(data={"global": {"max_order_volume": 10**400, "price_band": float("nan")}})
@example(data={"symbols": {"rb2701.SHFE": {"max_position": float("inf"),
                                           "duplicate_seconds": -10**400}}})
@example(data={"monitors": {"daily_loss": 10**400, "margin_usage": float("nan")}})
@example(data={"state": "HALTED", "monitors": []})
@example(data={"review": ["daily loss"], "State": "x"})
def test_any_json_gives_a_risk_config_a_problem_per_bad_key_or_reduce_only(tmp_path_factory,
                                                                           data):
    """A bad value takes its default with a problem; a part that cannot be read at all (the
    state, a section) makes the file untrusted: REDUCE_ONLY at least, and `unusable` says why."""
    path = tmp_path_factory.mktemp("risk") / "risk.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded = limits.load(path)
    config, warnings = loaded.config, list(loaded.problems)
    assert isinstance(config, RiskConfig) and path.exists()
    assert all(isinstance(w, str) for w in warnings)
    if not isinstance(data, dict):
        assert config == RiskConfig(state=TradingState.REDUCE_ONLY) and not warnings
        assert loaded.unusable.startswith("risk settings must be a JSON object")
        return
    unreadable = [f"{key}: not a risk setting" for key in data
                  if key not in ("state", "global", "symbols", "monitors", "review")]
    state = TradingState.ACTIVE
    if "state" in data:
        try:
            state = TradingState(str(data["state"]).strip().upper().replace("-", "_")
                                 .replace(" ", "_"))
        except ValueError:
            unreadable.append("state: expected one of")
    global_limits = DEFAULT_LIMITS
    if "global" in data:
        if isinstance(data["global"], dict):
            global_limits = replace(DEFAULT_LIMITS, **expected_limits(
                data["global"], "global", DEFAULT_LIMITS, warnings, unreadable))
        else:
            unreadable.append("global: expected an object")
    assert config.global_limits == global_limits
    symbols = {}
    raw_symbols = data.get("symbols", {})
    if isinstance(raw_symbols, dict):
        for vt_symbol, overrides in raw_symbols.items():
            if not is_vt_symbol(vt_symbol) or canonical_vt_symbol(vt_symbol) != vt_symbol:
                unreadable.append(f"symbols.{vt_symbol}: not a vt_symbol")
                continue
            if not isinstance(overrides, dict):
                unreadable.append(f"symbols.{vt_symbol}: expected an object")
                continue
            good = expected_limits(overrides, f"symbols.{vt_symbol}", global_limits, warnings,
                                   unreadable)
            if good:
                symbols[vt_symbol] = good
    else:
        unreadable.append("symbols: expected an object")
    assert config.symbols == symbols
    monitors = MonitorLimits()
    raw_monitors = data.get("monitors", {})
    if isinstance(raw_monitors, dict):
        good = {}
        for key, value in raw_monitors.items():
            mine = [w for w in warnings if w.startswith(f"monitors.{key}:")]
            if key not in MONITOR_NAMES:
                unreadable.append(f"monitors.{key}: not a monitor setting")
                assert not mine, mine
                continue
            verdict = monitor_accepted(key, value)
            assert bool(mine) == (verdict is None), (key, value, warnings)
            if verdict is not None:
                good[key] = verdict[0]
        monitors = replace(monitors, **good)
    else:
        unreadable.append("monitors: expected an object")
    assert config.monitors == monitors
    review = data.get("review", [])
    if not (isinstance(review, list) and all(isinstance(item, str) for item in review)):
        unreadable.append("review: expected a list of reasons")
    for words in unreadable:
        assert words in loaded.unusable, (words, loaded.unusable)
    if unreadable:
        state = state.at_least(TradingState.REDUCE_ONLY)
    else:
        assert loaded.unusable == ""
    assert config.state == state


@FILE_SETTINGS
@given(content=st.binary(max_size=300) | st.sampled_from(NOT_JSON))
def test_any_risk_file_bytes_load_or_are_kept_aside_unchanged(tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("risk")
    path = folder / "risk.json"
    path.write_bytes(content)
    loaded = limits.load(path)
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        (kept,) = aside_files(folder, "risk.json")
        assert kept.read_bytes() == content and not path.exists()
        assert loaded == limits.LoadedRisk(RiskConfig(state=TradingState.REDUCE_ONLY), (),
                                           loaded.unusable)
        assert "unreadable" in loaded.unusable and kept.name in loaded.unusable
    else:
        assert path.read_bytes() == content and not aside_files(folder, "risk.json")
        assert loaded == limits.parse(data)


@st.composite
def risk_configs(draw):
    def limit_set(names) -> dict:
        return {name: limit_accepted(name, draw(limit_value(name, none=False)),
                                     DEFAULT_LIMITS)[0] for name in names}

    some_limits = st.lists(st.sampled_from(LIMIT_NAMES), unique=True)
    vt_symbols = st.from_regex(r"[a-zA-Z]{1,2}[0-9]{3,4}\.(SHFE|DCE|CZCE|CFFEX|INE|GFEX)",
                               fullmatch=True)
    per_symbol = [name for name in LIMIT_NAMES if name not in limits.ACCOUNT_WIDE]
    symbols = {vt_symbol: limit_set(draw(st.lists(st.sampled_from(per_symbol), min_size=1,
                                                  unique=True)))
               for vt_symbol in draw(st.lists(vt_symbols, max_size=3, unique=True))}
    monitors = {name: monitor_accepted(name, draw(monitor_value(name, none=False)))[0]
                for name in draw(st.lists(st.sampled_from(MONITOR_NAMES), unique=True))}
    return RiskConfig(draw(st.sampled_from(TradingState)),
                      replace(DEFAULT_LIMITS, **limit_set(draw(some_limits))), symbols,
                      replace(MonitorLimits(), **monitors))


@FILE_SETTINGS
@given(config=risk_configs())
def test_risk_config_saved_loads_the_same(tmp_path_factory, config):
    path = tmp_path_factory.mktemp("risk") / "risk.json"
    limits.save(path, config)
    assert limits.load(path) == limits.LoadedRisk(config)
    assert RiskConfig.from_dict(json.loads(path.read_text())) == config
    assert sorted(path.parent.iterdir()) == [path]


# ---------------------------------------------------------------------------- the terminal
def test_terminal_starts_on_corrupt_settings_keeps_them_aside_and_trades_reduce_only(
        qtbot, data_dir):
    from terminal.app.main import start

    data_dir.mkdir(parents=True)
    broken_settings = b'{"frame_ms": 20, "watchlist": ["rb2701.SHFE"\xff'
    broken_risk = b'{"state": "HALTED", "global": {"max_order_volume": 5}'      # truncated
    (data_dir / "settings.json").write_bytes(broken_settings)
    (data_dir / "risk.json").write_bytes(broken_risk)
    runtime, window = start(data_dir, show=False)
    qtbot.addWidget(window)
    try:
        assert replace(runtime.settings, watchlist=[]) == Settings()
        # Risk settings that cannot be read never fall back to permissive: REDUCE-ONLY.
        assert runtime.risk.config == RiskConfig(state=TradingState.REDUCE_ONLY)
        (settings_aside,) = aside_files(data_dir, "settings.json")
        (risk_aside,) = aside_files(data_dir, "risk.json")
        assert settings_aside.read_bytes() == broken_settings
        assert risk_aside.read_bytes() == broken_risk
        assert not (data_dir / "risk.json").exists()         # not rewritten until reviewed
        log = (data_dir / "logs" / "terminal.log").read_text(encoding="utf-8")
        assert "settings: settings.json is unreadable" in log
        assert f"kept as {settings_aside.name}; defaults used" in log
        assert "risk.json is unreadable" in log and f"kept as {risk_aside.name}" in log
        # A severe alert, and the dialog at start, name the file and the problem.
        alerts = window.alerts.model
        qtbot.waitUntil(lambda: any(a.rule == "risk_settings" for a in alerts.records()),
                        timeout=10_000)
        alert = next(a for a in alerts.records() if a.rule == "risk_settings")
        assert alert.severity == SEVERE and str(data_dir / "risk.json") in alert.message
        assert "trading started REDUCE-ONLY" in alert.message and risk_aside.name in alert.message
        assert alert.message in window.startup_box.text()
        window.startup_box.close()                              # read: the trader closes it
        # and the terminal's log window shows it
        records = window.log_view.model.records
        qtbot.waitUntil(lambda: any("settings.json is unreadable" in line.message
                                    for line in records()), timeout=10_000)
    finally:
        window.close()
        runtime.close()
