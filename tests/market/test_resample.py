"""Resampling on China futures sessions, checked against bars computed by hand from the raw
rb2401 file (end-labelled 1-minute rows) and on synthetic bars for the calendar rules."""

from __future__ import annotations

import csv
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from vnpy.trader.constant import Exchange

from terminal.market.resample import ResampleError, resample
from terminal.storage.csv_import import import_file
from terminal.storage.market_store import CHINA_TZ, MarketStore
from terminal.core.timezone import to_ns
from tests.helpers import SHARED_DATA

RB_FILE = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
needs_rb = pytest.mark.skipif(not RB_FILE.exists(), reason=f"{RB_FILE} is not there")


@pytest.fixture(scope="module")
def rb(tmp_path_factory):
    store = MarketStore(tmp_path_factory.mktemp("store"))
    import_file(store, RB_FILE)
    table = store.load_table("rb2401", Exchange.SHFE, "1m")
    store.close()
    return {name: table.column(name).to_numpy() for name in table.column_names}


@pytest.fixture(scope="module")
def raw_rows():
    """The file's rows keyed by their end time, as written (no store, no importer)."""
    with open(RB_FILE, newline="") as handle:
        return {row["datetime"]: row for row in csv.DictReader(handle)}


def by_hand(raw_rows, first_end: str, last_end: str, *more: tuple[str, str]) -> dict:
    """The bar made of the raw rows whose end times fall in the given inclusive windows."""
    windows = [(first_end, last_end), *more]
    rows = [raw_rows[key] for key in sorted(raw_rows)
            if any(low <= key <= high for low, high in windows)]
    assert rows, windows
    return {
        "open_price": float(rows[0]["open_price"]),
        "high_price": max(float(r["high_price"]) for r in rows),
        "low_price": min(float(r["low_price"]) for r in rows),
        "close_price": float(rows[-1]["close_price"]),
        "volume": sum(float(r["volume"]) for r in rows),
        "open_interest": float(rows[-1]["open_interest"]),
    }


def bar_at(columns: dict, label: str) -> dict:
    stamp = to_ns(datetime.fromisoformat(label))
    index = np.flatnonzero(columns["datetime"] == stamp)
    assert len(index) == 1, f"no bar labelled {label}"
    return {name: float(values[index[0]]) for name, values in columns.items()
            if name != "datetime"}


def labels(columns: dict) -> list[str]:
    stamps = pd.to_datetime(columns["datetime"], utc=True).tz_convert(CHINA_TZ)
    return [s.strftime("%Y-%m-%d %H:%M") for s in stamps]


def rb_resample(rb, target):
    return resample(rb, "1m", target, "rb2401", Exchange.SHFE, CHINA_TZ)


@needs_rb
@pytest.mark.parametrize(("target", "label", "windows"), [
    # The night of Monday 25 September trades for Tuesday 26; the 21:00 row is the opening
    # auction, which belongs to the first bar of the night.
    ("5m", "2023-09-25 21:00", [("2023-09-25 21:00:00", "2023-09-25 21:05:00")]),
    ("5m", "2023-09-25 22:55", [("2023-09-25 22:56:00", "2023-09-25 23:00:00")]),
    ("15m", "2023-09-25 22:45", [("2023-09-25 22:46:00", "2023-09-25 23:00:00")]),
    ("30m", "2023-09-25 21:00", [("2023-09-25 21:00:00", "2023-09-25 21:30:00")]),
    ("1h", "2023-09-25 22:00", [("2023-09-25 22:01:00", "2023-09-25 23:00:00")]),
    ("4h", "2023-09-25 21:00", [("2023-09-25 21:00:00", "2023-09-25 23:00:00")]),
    # 30 trading minutes step over the 10:15-10:30 break, but not over lunch.
    ("30m", "2023-09-26 10:00", [("2023-09-26 10:01:00", "2023-09-26 10:15:00"),
                                 ("2023-09-26 10:31:00", "2023-09-26 10:45:00")]),
    ("1h", "2023-09-26 11:15", [("2023-09-26 11:16:00", "2023-09-26 11:30:00")]),
    ("4h", "2023-09-26 09:00", [("2023-09-26 09:01:00", "2023-09-26 11:30:00")]),
    ("4h", "2023-09-26 13:30", [("2023-09-26 13:31:00", "2023-09-26 15:00:00")]),
    # The trading day of the 26th runs from the night of the 25th to 15:00 on the 26th.
    ("d", "2023-09-26 00:00", [("2023-09-25 21:00:00", "2023-09-26 15:00:00")]),
])
def test_bars_match_hand_computed_ones(rb, raw_rows, target, label, windows):
    expected = by_hand(raw_rows, *windows[0], *windows[1:])
    got = bar_at(rb_resample(rb, target), label)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value), (target, label, name)


@needs_rb
def test_no_bar_spans_lunch_or_the_evening_gap(rb):
    day = [t for t in labels(rb_resample(rb, "30m"))
           if "2023-09-25 21:00" <= t <= "2023-09-26 15:00"]
    assert day == [
        "2023-09-25 21:00", "2023-09-25 21:30", "2023-09-25 22:00", "2023-09-25 22:30",
        "2023-09-26 09:00", "2023-09-26 09:30", "2023-09-26 10:00", "2023-09-26 10:45",
        "2023-09-26 11:15", "2023-09-26 13:30", "2023-09-26 14:00", "2023-09-26 14:30",
    ]
    hours = [t[11:] for t in labels(rb_resample(rb, "1h")) if t.startswith("2023-09-27")]
    assert hours == ["09:00", "10:00", "11:15", "13:30", "14:30", "21:00", "22:00"]


@needs_rb
def test_daily_bars_are_trading_days_and_volumes_add_up(rb, raw_rows):
    daily = rb_resample(rb, "d")
    # No night before the National Day holiday; the night of 9 October trades for the 10th.
    assert [t[:10] for t in labels(daily)] == [
        "2023-09-25", "2023-09-26", "2023-09-27", "2023-09-28", "2023-10-09", "2023-10-10"]
    assert daily["volume"].sum() == pytest.approx(sum(float(r["volume"])
                                                      for r in raw_rows.values()))
    for target in ("5m", "15m", "30m", "1h", "4h"):
        assert rb_resample(rb, target)["volume"].sum() == pytest.approx(rb["volume"].sum())
    assert len(rb_resample(rb, "5m")["datetime"]) == len(rb["datetime"]) // 5


def synthetic(*stamps: str) -> dict:
    n = len(stamps)
    return {"datetime": np.array([to_ns(datetime.fromisoformat(s)) for s in stamps]),
            "open_price": np.arange(n, dtype=float) + 10, "high_price": np.arange(n) + 11.0,
            "low_price": np.arange(n) + 9.0, "close_price": np.arange(n) + 10.5,
            "volume": np.ones(n), "turnover": np.ones(n), "open_interest": np.arange(n) + 100.0}


def test_friday_night_and_after_midnight_trade_for_monday():
    # Gold trades until 02:30: Friday 21:00 and Saturday 01:00 both belong to Monday.
    bars = synthetic("2026-11-20 21:00", "2026-11-21 01:00", "2026-11-23 09:00",
                     "2026-11-23 14:59")
    daily = resample(bars, "1m", "d", "au2702", Exchange.SHFE, CHINA_TZ)
    assert labels(daily) == ["2026-11-23 00:00"]
    assert daily["open_price"][0] == 10 and daily["close_price"][0] == 13.5
    assert daily["volume"][0] == 4
    four_hours = resample(bars, "1m", "4h", "au2702", Exchange.SHFE, CHINA_TZ)
    assert labels(four_hours) == ["2026-11-20 21:00", "2026-11-21 01:00", "2026-11-23 09:00",
                                  "2026-11-23 13:30"]


def test_index_futures_hours_and_labels_when_the_first_minute_is_missing():
    bars = synthetic("2026-11-20 09:31", "2026-11-20 10:29", "2026-11-20 10:30",
                     "2026-11-20 11:29", "2026-11-20 13:00", "2026-11-20 14:59")
    hours = resample(bars, "1m", "1h", "IF2612", Exchange.CFFEX, CHINA_TZ)
    assert labels(hours) == ["2026-11-20 09:30", "2026-11-20 10:30", "2026-11-20 13:00",
                             "2026-11-20 14:00"]
    assert list(hours["volume"]) == [2, 2, 1, 1]


def test_unknown_product_uses_the_hours_its_bars_show():
    stamps = [f"2026-11-{day} {hh}:{mm:02d}" for day in (19, 20)
              for hh in ("10", "11") for mm in range(60)]
    bars = synthetic(*stamps)
    halves = resample(bars, "1m", "30m", "xx2701", Exchange.LOCAL, CHINA_TZ)
    assert len(halves["datetime"]) == 8
    assert labels(halves)[:4] == ["2026-11-19 10:00", "2026-11-19 10:30", "2026-11-19 11:00",
                                  "2026-11-19 11:30"]


def test_bad_requests_are_refused_with_reasons():
    bars = synthetic("2026-11-20 09:31", "2026-11-20 09:30")
    with pytest.raises(ResampleError, match="time order"):
        resample(bars, "1m", "5m", "rb2701", Exchange.SHFE, CHINA_TZ)
    with pytest.raises(ResampleError, match="cannot be built from 5m"):
        resample(synthetic("2026-11-20 09:30"), "5m", "7m", "rb2701", Exchange.SHFE, CHINA_TZ)
    with pytest.raises(ResampleError, match="not an intraday interval"):
        resample(synthetic("2026-11-20 09:30"), "1m", "weekly", "rb2701", Exchange.SHFE, CHINA_TZ)
    empty = resample({k: v[:0] for k, v in bars.items()}, "1m", "d", "rb2701", Exchange.SHFE,
                     CHINA_TZ)
    assert len(empty["datetime"]) == 0
