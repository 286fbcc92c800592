"""Chart indicators against TA-Lib (installed with vn.py): the same values to 1e-9 and the same
empty leading bars, on real IF 5-minute closes and on a million-bar random walk, which is long
enough to show any drift of the vectorised recursions."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
import talib
from numpy.lib.stride_tricks import sliding_window_view

from terminal.market import indicators as ind
from tests.helpers import SHARED_DATA

DATA = SHARED_DATA
IF_5MIN = DATA / "cn_fut_CFFEX_IF_HOT_5min_2014-2019_wtpy.csv"
WALK_BARS = 1_000_000


def _columns(open_, high, low, close, volume) -> dict[str, np.ndarray]:
    return {"open_price": open_, "high_price": high, "low_price": low, "close_price": close,
            "volume": volume}


@pytest.fixture(scope="module")
def real() -> dict[str, np.ndarray]:
    if not IF_5MIN.exists():
        pytest.skip(f"sample data not found: {IF_5MIN}")
    frame = pd.read_csv(IF_5MIN, skipinitialspace=True)
    frame.columns = [name.strip().strip("<>") for name in frame.columns]
    return _columns(*(frame[name].to_numpy(dtype=np.float64)
                      for name in ("Open", "High", "Low", "Close", "Volume")))


@pytest.fixture(scope="module")
def walk() -> dict[str, np.ndarray]:
    """A seeded geometric random walk of a million bars with consistent OHLC and volume."""
    rng = np.random.default_rng(20240611)
    close = 3000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, WALK_BARS)))
    open_ = np.empty(WALK_BARS)
    open_[0] = 3000.0
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, 0.0002, WALK_BARS - 1))
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, 0.0005, WALK_BARS)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, 0.0005, WALK_BARS)))
    volume = rng.integers(1, 20_000, WALK_BARS).astype(np.float64)
    return _columns(open_, high, low, close, volume)


@pytest.fixture(params=["real", "walk"])
def bars(request) -> dict[str, np.ndarray]:
    return request.getfixturevalue(request.param)


def assert_matches(ours: np.ndarray, theirs: np.ndarray, lookback: int) -> None:
    """Same length, NaN exactly on the first `lookback` bars, values within 1e-9."""
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    assert np.isnan(ours[:lookback]).all() and not np.isnan(ours[lookback:]).any()
    defined = slice(lookback, None)
    np.testing.assert_allclose(ours[defined], theirs[defined], rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------------- each function vs talib

@pytest.mark.parametrize("n", [1, 2, 20, 120])
def test_sma_matches_talib(bars, n):
    close = bars["close_price"]
    assert_matches(ind.sma(close, n), talib.SMA(close, n), n - 1)


@pytest.mark.parametrize("n", [1, 2, 12, 26, 200])
def test_ema_matches_talib(bars, n):
    close = bars["close_price"]
    assert_matches(ind.ema(close, n), talib.EMA(close, n), n - 1)


@pytest.mark.parametrize(("n", "k"), [(20, 2.0), (5, 1.5), (60, 3.0)])
def test_bollinger_matches_talib(bars, n, k):
    close = bars["close_price"]
    mid, upper, lower = ind.bollinger(close, n, k)
    t_upper, t_mid, t_lower = talib.BBANDS(close, n, k, k, 0)
    assert_matches(mid, t_mid, n - 1)
    # Where every close of the window is the same the deviation is exactly zero. TA-Lib takes
    # the variance as E[x^2] - E[x]^2 from running sums and is left there with the square root
    # of its rounding noise (about 1e-4 on IF prices), so those windows are checked apart.
    windows = sliding_window_view(close, n)
    flat = np.zeros(len(close), dtype=bool)
    flat[n - 1:] = windows.max(axis=1) == windows.min(axis=1)
    for ours, theirs in ((upper, t_upper), (lower, t_lower)):
        assert_matches(np.where(flat, t_mid, ours), np.where(flat, t_mid, theirs), n - 1)
        np.testing.assert_array_equal(ours[flat], mid[flat])
        np.testing.assert_allclose(theirs[flat], t_mid[flat], rtol=0, atol=1e-3)


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5), (2, 3, 1)])
def test_macd_matches_talib(bars, fast, slow, signal):
    close = bars["close_price"]
    lookback = slow + signal - 2
    for ours, theirs in zip(ind.macd(close, fast, slow, signal),
                            talib.MACD(close, fast, slow, signal), strict=True):
        assert_matches(ours, theirs, lookback)


@pytest.mark.parametrize("n", [2, 6, 14, 50])
def test_rsi_matches_talib(bars, n):
    close = bars["close_price"]
    assert_matches(ind.rsi(close, n), talib.RSI(close, n), n)


@pytest.mark.parametrize("n", [1, 2, 14, 50])
def test_atr_matches_talib(bars, n):
    high, low, close = bars["high_price"], bars["low_price"], bars["close_price"]
    assert_matches(ind.atr(high, low, close, n), talib.ATR(high, low, close, n), n)


@pytest.mark.parametrize("n", [5, 10])
def test_volume_ma_matches_talib(bars, n):
    volume = bars["volume"]
    assert_matches(ind.volume_ma(volume, n), talib.SMA(volume, n), n - 1)


# ------------------------------------------------------------------- edges

@pytest.fixture
def short_walk(walk) -> dict[str, np.ndarray]:
    return {name: column[:3000].copy() for name, column in walk.items()}


def test_leading_nan_inputs_are_skipped_like_talib(short_walk):
    close = short_walk["close_price"].copy()
    close[:7] = np.nan
    high = short_walk["high_price"].copy()
    high[:9] = np.nan
    low = short_walk["low_price"]
    pairs = [
        (ind.sma(close, 10), talib.SMA(close, 10)),
        (ind.ema(close, 10), talib.EMA(close, 10)),
        (ind.rsi(close, 14), talib.RSI(close, 14)),
        (ind.atr(high, low, close, 14), talib.ATR(high, low, close, 14)),
        *zip(ind.bollinger(close, 20, 2.0),
             np.array(talib.BBANDS(close, 20, 2.0, 2.0, 0))[[1, 0, 2]], strict=True),
        *zip(ind.macd(close), talib.MACD(close, 12, 26, 9), strict=True),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)   # NaN where talib's are
        assert np.isnan(ours).sum() >= 16


@pytest.mark.parametrize("length", [0, 1, 13, 14, 15, 34])
def test_series_shorter_than_the_lookback_are_all_nan(short_walk, length):
    cut = {name: column[:length] for name, column in short_walk.items()}
    close = cut["close_price"]
    results = {
        "sma": (ind.sma(close, 14), 13),
        "ema": (ind.ema(close, 14), 13),
        "rsi": (ind.rsi(close, 14), 14),
        "atr": (ind.atr(cut["high_price"], cut["low_price"], close, 14), 14),
        **{f"boll{i}": (line, 13) for i, line in enumerate(ind.bollinger(close, 14))},
        **{f"macd{i}": (line, 33) for i, line in enumerate(ind.macd(close))},
    }
    for name, (values, lookback) in results.items():
        assert len(values) == length, name
        assert np.isnan(values[:lookback]).all(), name
        assert not np.isnan(values[lookback:]).any(), name
    if length:
        np.testing.assert_allclose(ind.ema(close, 14), talib.EMA(close, 14))
        np.testing.assert_allclose(ind.rsi(close, 14), talib.RSI(close, 14))


def test_flat_prices_give_talibs_zero_rsi_and_atr_and_closed_bands():
    flat = np.full(200, 3500.2)
    np.testing.assert_array_equal(ind.rsi(flat, 14)[14:], 0.0)
    np.testing.assert_allclose(ind.rsi(flat, 14), talib.RSI(flat, 14))
    np.testing.assert_allclose(ind.atr(flat, flat, flat, 14), talib.ATR(flat, flat, flat, 14))
    mid, upper, lower = ind.bollinger(flat, 20, 2.0)
    np.testing.assert_array_equal(mid[19:], 3500.2)
    np.testing.assert_array_equal(upper[19:], 3500.2)
    np.testing.assert_array_equal(lower[19:], 3500.2)
    np.testing.assert_array_equal(ind.sma(flat, 20)[19:], 3500.2)


def test_inputs_of_other_types_and_lengths():
    closes = [float(i % 7) + 100.0 for i in range(100)]
    np.testing.assert_allclose(ind.ema(closes, 5), talib.EMA(np.array(closes), 5))
    np.testing.assert_allclose(ind.sma(np.arange(100, dtype=np.int64), 5),
                               talib.SMA(np.arange(100, dtype=np.float64), 5))
    with pytest.raises(ValueError, match="differ in length"):
        ind.atr(np.ones(10), np.ones(9), np.ones(10), 3)
    with pytest.raises(ValueError, match="one-dimensional"):
        ind.sma(np.ones((3, 3)), 2)


@pytest.mark.parametrize(("call", "parameter", "value"), [
    (lambda x: ind.sma(x, 0), "n", "0"),
    (lambda x: ind.sma(x, 2.5), "n", "2.5"),
    (lambda x: ind.sma(x, 100_001), "n", "100001"),
    (lambda x: ind.ema(x, -3), "n", "-3"),
    (lambda x: ind.volume_ma(x, True), "n", "True"),
    (lambda x: ind.bollinger(x, 1), "n", "1"),
    (lambda x: ind.bollinger(x, 20, float("nan")), "k", "nan"),
    (lambda x: ind.bollinger(x, 20, "2"), "k", "'2'"),
    (lambda x: ind.macd(x, 1, 26, 9), "fast", "1"),
    (lambda x: ind.macd(x, 12, 26, 0), "signal", "0"),
    (lambda x: ind.macd(x, 26, 12, 9), "fast", "26"),
    (lambda x: ind.macd(x, 12, 12, 9), "fast", "12"),
    (lambda x: ind.rsi(x, 1), "n", "1"),
    (lambda x: ind.atr(x, x, x, 0), "n", "0"),
])
def test_bad_parameters_are_rejected(call, parameter, value):
    with pytest.raises(ValueError, match=f"^{re.escape(parameter)}") as raised:
        call(np.linspace(100.0, 110.0, 50))
    assert str(raised.value).startswith(parameter)
    assert value in str(raised.value)


# ------------------------------------------------------------------- registry

def test_specs_describe_every_kind():
    assert list(ind.SPECS) == ["MA", "EMA", "BOLL", "MACD", "RSI", "ATR", "VOLMA"]
    overlays = {kind for kind, spec in ind.SPECS.items() if spec.overlay}
    assert overlays == {"MA", "EMA", "BOLL"}
    for kind, spec in ind.SPECS.items():
        assert spec.kind == kind and spec.name
        assert spec.validate(None) == spec.defaults()
        for param in spec.params:
            assert param.minimum <= param.default <= param.maximum
            assert type(param.minimum) is type(param.default) is type(param.maximum)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ind.SPECS["MA"].overlay = False
    assert ind.SPECS["BOLL"].label() == "BOLL(20,2)"
    assert ind.SPECS["BOLL"].label({"k": 2.5}) == "BOLL(20,2.5)"
    assert ind.SPECS["MACD"].label({"signal": 5}) == "MACD(12,26,5)"


@pytest.mark.parametrize(("kind", "params", "expected"), [
    ("MA", None, lambda c: {"MA(20)": ind.sma(c["close_price"], 20)}),
    ("MA", {"n": 5}, lambda c: {"MA(5)": talib.SMA(c["close_price"], 5)}),
    ("EMA", {"n": 60}, lambda c: {"EMA(60)": talib.EMA(c["close_price"], 60)}),
    ("BOLL", {"n": 26, "k": 2.5}, lambda c: dict(zip(
        ("upper", "mid", "lower"), talib.BBANDS(c["close_price"], 26, 2.5, 2.5, 0), strict=True))),
    ("MACD", None, lambda c: dict(zip(
        ("macd", "signal", "hist"), talib.MACD(c["close_price"], 12, 26, 9), strict=True))),
    ("RSI", {"n": 6}, lambda c: {"RSI(6)": talib.RSI(c["close_price"], 6)}),
    ("ATR", None, lambda c: {"ATR(14)": talib.ATR(
        c["high_price"], c["low_price"], c["close_price"], 14)}),
    ("VOLMA", {"n": 10}, lambda c: {"VOLMA(10)": talib.SMA(c["volume"], 10)}),
])
def test_compute_each_kind(short_walk, kind, params, expected):
    lines = ind.compute(kind, params, short_walk)
    wanted = expected(short_walk)
    assert list(lines) == list(wanted)
    for name, values in lines.items():
        assert len(values) == len(short_walk["close_price"])
        np.testing.assert_allclose(values, wanted[name], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("kind", "params", "message"), [
    ("KDJ", None, "unknown indicator kind 'KDJ'"),
    ("MA", {"n": 0}, "n must be between 1 and 100000, got 0"),
    ("MA", {"period": 5}, "MA has no parameter 'period'"),
    ("EMA", {"n": 20.0}, "n must be an integer, got 20.0"),
    ("BOLL", {"k": 0.0}, "k must be between 0.1 and 10.0, got 0.0"),
    ("BOLL", {"k": "2"}, "k must be a finite number, got '2'"),
    ("MACD", {"fast": 30}, "fast must be shorter than slow, got fast=30 and slow=26"),
    ("MACD", {"signal": 0}, "signal must be between 1 and 100000, got 0"),
    ("RSI", {"n": 1}, "n must be between 2 and 100000, got 1"),
    ("ATR", {"n": None}, "n must be an integer, got None"),
    ("VOLMA", {"n": False}, "n must be a number, got False"),
])
def test_compute_rejects_bad_parameters(short_walk, kind, params, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ind.compute(kind, params, short_walk)
