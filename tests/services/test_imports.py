"""The import service called directly (no Qt, no command line): what `data import` and the
import wizard both run."""

from __future__ import annotations

import re

import pytest
from vnpy.trader.constant import Exchange

from terminal.services.imports import (
    SeriesUnnamed,
    detected_spec,
    import_csv,
    inspect_file,
    spec_from_settings,
)
from terminal.storage.csv_import import FileRejected, ImportRejected

BARS = ("datetime,open,high,low,close,volume\n"
        "2024-01-02 09:00:00,3900,3910,3890,3905,12\n"
        "2024-01-02 09:01:00,3905,3915,3900,3912,7\n"
        "2024-01-02 09:02:00,3912,3920,3911,3918,9\n")


def write(folder, name: str, text: str = BARS):
    path = folder / name
    path.write_text(text)
    return path


def test_a_file_is_checked_then_stored_with_progress_told(store, tmp_path):
    path = write(tmp_path, "cn_fut_SHFE_rb2405_1min.csv")
    spec = detected_spec(path)
    assert (spec.symbol, spec.exchange, spec.interval) == ("rb2405", Exchange.SHFE, "1m")

    checked = import_csv(store, path, spec, check_only=True)
    assert (checked.rows, checked.stored, checked.series) == (3, False, "rb2405.SHFE 1m")
    assert store.series() == []                       # checking writes nothing

    heard = []
    done = import_csv(store, path, spec, progress=lambda percent, stage: heard.append(
        (percent, stage)))
    assert (done.rows, done.stored) == (3, True)
    assert [(s.symbol, s.interval, s.count) for s in store.series()] == [("rb2405", "1m", 3)]
    assert heard[0] == (0, "reading the file") and heard[-1] == (90, "writing to the store")
    assert [percent for percent, _ in heard] == sorted(percent for percent, _ in heard)


def test_a_progress_that_raises_before_the_write_leaves_the_store_as_it_was(store, tmp_path):
    path = write(tmp_path, "cn_fut_SHFE_rb2405_1min.csv")

    class Stop(Exception):
        pass

    def cancel_at_the_write(percent: int, stage: str) -> None:
        if stage == "writing to the store":
            raise Stop

    with pytest.raises(Stop):
        import_csv(store, path, detected_spec(path), progress=cancel_at_the_write)
    assert store.series() == []


def test_what_the_caller_says_replaces_what_was_detected(tmp_path):
    path = write(tmp_path, "prices.csv")
    assert detected_spec(path).exchange == Exchange.LOCAL
    spec = detected_spec(path, symbol="ag2406", exchange="shfe", interval="5m",
                         datetime_format="%Y-%m-%d %H:%M:%S", end_labelled=True,
                         timezone="UTC")
    assert (spec.symbol, spec.exchange, spec.interval, spec.end_labelled, spec.timezone) == \
        ("ag2406", Exchange.SHFE, "5m", True, "UTC")
    with pytest.raises(ValueError, match="unknown exchange 'MOON'"):
        detected_spec(path, exchange="MOON")


def test_a_file_that_names_no_series_is_refused_before_it_is_read(store, tmp_path):
    path = write(tmp_path, "prices.csv")
    with pytest.raises(SeriesUnnamed, match=r"^prices.csv: no symbol/exchange in the file"):
        import_csv(store, path, detected_spec(path), check_only=True)
    with pytest.raises(SeriesUnnamed):
        import_csv(store, path, detected_spec(path, exchange="SHFE"))   # no symbol either
    assert store.series() == []


def test_bad_rows_are_named_by_line_and_nothing_is_written(store, tmp_path):
    path = write(tmp_path, "cn_fut_SHFE_rb2405_bad.csv", BARS.replace("3915,3900", "3899,3900"))
    with pytest.raises(ImportRejected) as rejected:
        import_csv(store, path, detected_spec(path))
    assert (3, "high is below low") in [(p.line, p.message) for p in rejected.value.problems]
    assert store.series() == []


def test_inspection_gives_the_headers_and_says_why_a_layout_was_not_recognised(tmp_path):
    found = inspect_file(write(tmp_path, "cn_fut_SHFE_rb2405_1min.csv"))
    assert found.headers == ["datetime", "open", "high", "low", "close", "volume"]
    assert found.spec.symbol == "rb2405" and found.problem is None

    odd = inspect_file(write(tmp_path, "odd.csv", "when,o,h,l,c\n2024-01-02 09:00,1,2,0.5,1\n"))
    assert odd.spec is None and odd.headers == ["when", "o", "h", "l", "c"]
    assert "no open/high/low/close or last price columns" in str(odd.problem)

    with pytest.raises(FileRejected, match="nothing under the header line"):
        inspect_file(write(tmp_path, "empty.csv", "datetime,open,high,low,close\n"))


SETTINGS = dict(kind="bar", symbol=" rb2405 ", exchange=Exchange.SHFE, interval="1m",
                columns={"datetime": "t", "open_price": "o", "high_price": "h",
                         "low_price": "l", "close_price": "c"},
                datetime_format="%Y-%m-%d %H:%M:%S", end_labelled=True,
                cumulative_volume=True, timezone="Asia/Shanghai")


def test_settings_become_a_spec():
    spec = spec_from_settings(**SETTINGS)
    assert (spec.symbol, spec.interval, spec.end_labelled, spec.columns["close_price"]) == \
        ("rb2405", "1m", True, "c")
    ticks = spec_from_settings(**{**SETTINGS, "kind": "tick", "interval": "junk",
                                  "columns": {"datetime": "t", "last_price": "p"}})
    assert (ticks.interval, ticks.end_labelled) == ("", False)     # bars only
    assert spec_from_settings(**{**SETTINGS, "symbol": "", "exchange": Exchange.LOCAL},
                              named=False).symbol == ""             # a preview needs no name


@pytest.mark.parametrize(("change", "message"), [
    ({"symbol": "  "}, "give the symbol (e.g. rb2401)"),
    ({"exchange": Exchange.LOCAL}, "choose the exchange"),
    ({"interval": "7x"}, "bar interval '7x': use 1m, 5m, 1h, d, w ..."),
    ({"datetime_format": " "}, "give the time format"),
    ({"timezone": "Asia"}, "unknown time zone 'Asia' (e.g. Asia/Shanghai)"),
    ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ({"columns": {"open_price": "o"}}, "choose the column with the date (and time)"),
    ({"columns": {"date": "d", "open_price": "o", "close_price": "c"}},
     "choose the columns for High, Low"),
    ({"kind": "tick", "columns": {"datetime": "t"}}, "choose the columns for Last"),
])
def test_settings_that_cannot_be_used_are_named(change, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        spec_from_settings(**{**SETTINGS, **change})
