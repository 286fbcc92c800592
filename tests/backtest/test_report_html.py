"""The HTML report of a run: one file that parses, fetches nothing, escapes the run's names,
has a monthly returns table equal to a hand computation, a row per round trip and per fill,
and the same bytes for the same run and seed."""

from __future__ import annotations

import math
from datetime import date, datetime
from html.parser import HTMLParser

import pytest

from terminal.backtest import report_html
from terminal.backtest.runs import RunStore
from terminal.services import montecarlo, reports
from terminal.services.errors import BadInput
from tests.helpers.stored_runs import daily_frame, round_trip_fills, store_run, trading_days

CAPITAL = 100_000.0
TRIPS = [500.0, -300.0, 200.0, -800.0, 1_000.0, -100.0, 400.0, -600.0, 300.0, 250.0, -50.0]


class Page(HTMLParser):
    """Every tag with its attributes, the text of each table and of the whole page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.tables: list[list[list[str]]] = []
        self._open: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


@pytest.fixture
def runs(tmp_path):
    with RunStore(tmp_path / "backtests") as store:
        yield store


def stored(runs, **kwargs) -> str:
    days = trading_days(30)
    pnl = [(-1) ** i * (100.0 + 10 * i) for i in range(30)]
    return store_run(runs, daily_frame(days, pnl, CAPITAL),
                     round_trip_fills(TRIPS, 10.0, datetime(2023, 1, 30, 9, 0)), **kwargs)


def test_the_monthly_table_is_the_hand_computation():
    # Jan 30, Jan 31 | Feb 1, Feb 28 | Mar 1 (2023) | Jan 2 2024, capital 1,000
    days = [date(2023, 1, 30), date(2023, 1, 31), date(2023, 2, 1), date(2023, 2, 28),
            date(2023, 3, 1), date(2024, 1, 2)]
    pnl = [100.0, -50.0, 210.0, -126.0, 63.0, -99.9]
    frame = report_html.monthly_returns(daily_frame(days, pnl, 1_000.0), 1_000.0)
    # Jan: 1,000 -> 1,050: +5%; Feb: 1,050 -> 1,134: +8%; Mar: 1,134 -> 1,197: +5.5556%
    # 2023: 1,000 -> 1,197: +19.7%; Jan 2024: 1,197 -> 1,097.1: -8.3459%, year the same
    assert frame.loc[2023, 1] == pytest.approx(0.05)
    assert frame.loc[2023, 2] == pytest.approx(0.08)
    assert frame.loc[2023, 3] == pytest.approx(63 / 1134)
    assert frame.loc[2023, "year"] == pytest.approx(0.197)
    assert frame.loc[2024, 1] == pytest.approx(-99.9 / 1197)
    assert frame.loc[2024, "year"] == pytest.approx(-99.9 / 1197)
    assert all(math.isnan(frame.loc[2023, m]) for m in range(4, 13))
    assert all(math.isnan(frame.loc[2024, m]) for m in range(2, 13))
    # as the page writes it: rows years, columns months and the year
    section = parse(report_html.monthly_section(daily_frame(days, pnl, 1_000.0), 1_000.0))
    rows = section.tables[0]
    assert rows[0] == ["Year", *report_html.MONTHS, "Year"]
    assert rows[1] == ["2023", "5.00%", "8.00%", "5.56%", *[""] * 9, "19.70%"]
    assert rows[2] == ["2024", "-8.35%", *[""] * 11, "-8.35%"]


def test_the_report_parses_and_fetches_nothing(runs):
    run_id = stored(runs)
    simulated = montecarlo.simulate_stored(runs, run_id, "trades", 200, seed=7)
    text = reports.stored_run_report(runs, run_id, simulated, 1_000)
    page = parse(text)
    names = {tag for tag, _ in page.tags}
    assert {"html", "head", "style", "body", "table", "svg", "polyline", "polygon"} <= names
    assert not names & {"script", "link", "img", "iframe", "object", "embed"}
    for tag, attrs in page.tags:
        assert "src" not in attrs and "href" not in attrs, (tag, attrs)
    assert "http" not in text and "url(" not in text and "@import" not in text
    headings = [t for t in page.text if t in (
        "Statistics", "Equity and drawdown", "Monthly returns", "Monte Carlo")]
    assert headings == ["Statistics", "Equity and drawdown", "Monthly returns", "Monte Carlo"]


def test_a_row_per_round_trip_and_per_fill(runs):
    page = parse(reports.stored_run_report(runs, stored(runs)))
    trips = next(t for t in page.tables if t[0][:2] == ["#", "Side"])
    fills = next(t for t in page.tables if t[0][:2] == ["Time", "Direction"])
    assert len(trips) - 1 == len(TRIPS)
    assert [row[-1] for row in trips[1:]] == [f"{pnl:,.2f}" for pnl in TRIPS]
    assert len(fills) - 1 == 2 * len(TRIPS)
    assert fills[1][1:3] == ["Long", "Open"] and fills[2][1:3] == ["Short", "Close"]
    assert "Monte Carlo" not in page.text


def test_names_from_the_run_are_shown_as_text(runs):
    hostile = "<script>alert('x')</script>"
    run_id = stored(runs, strategy=hostile, params={"<b>": "<img src=x>"})
    text = reports.stored_run_report(runs, run_id)
    page = parse(text)
    assert not {tag for tag, _ in page.tags} & {"script", "img", "b"}
    assert any(hostile in t for t in page.text)
    assert "<b>=<img src=x>" in "".join(page.text)


def test_the_same_run_and_seed_give_the_same_bytes(runs, tmp_path):
    run_id = stored(runs)
    files = []
    for name in ("one.html", "two.html"):
        simulated = montecarlo.simulate_stored(runs, run_id, "daily", 300, seed=11)
        files.append(reports.write(tmp_path / name,
                                   reports.stored_run_report(runs, run_id, simulated, 2_000)))
    assert files[0].read_bytes() == files[1].read_bytes()
    other = montecarlo.simulate_stored(runs, run_id, "daily", 300, seed=12)
    assert reports.stored_run_report(runs, run_id, other, 2_000).encode() != \
        files[0].read_bytes()


def test_a_report_is_written_whole_or_refused(runs, tmp_path):
    run_id = stored(runs)
    with pytest.raises(BadInput, match="does not exist"):
        reports.write(tmp_path / "missing" / "r.html", "x")
    with pytest.raises(BadInput, match="a folder"):
        reports.write(tmp_path, "x")
    with pytest.raises(BadInput, match="run 'nope'"):
        reports.stored_run_report(runs, "nope")
    assert not list(tmp_path.glob(".*.tmp"))
    assert reports.write(tmp_path / "r.html", reports.stored_run_report(runs, run_id)).exists()


def test_a_run_without_trades_or_days_still_reports(runs):
    import pandas as pd

    from terminal.backtest.runs import TRADE_COLUMNS

    empty_trades = pd.DataFrame(columns=list(TRADE_COLUMNS))
    run_id = store_run(runs, daily_frame([], [], CAPITAL), empty_trades,
                       stats={"sharpe_ratio": float("nan")})
    page = parse(reports.stored_run_report(runs, run_id))
    assert "Round trips (0)" in page.text and "Fills (0)" in page.text
    assert "No trading days." in page.text and "no data" in page.text
    assert "n/a" in page.text                                  # the NaN statistic


def test_the_header_says_what_the_warm_up_actually_loaded(runs):
    """The warm-up a run kept with its statistics (what load_bar got) heads the report, not
    the description of the read made before the run; the notes are not statistics."""
    actual = "load_bar(10) asked for the 10 days of 1m bars before the start and got none"
    run_id = stored(runs, settings={"warmup": "reads these bars (980 before the start)"},
                    stats={"total_net_pnl": 1.0, "warmup": actual,
                           "bars": "the stored 1m bars"})
    page = parse(reports.stored_run_report(runs, run_id))
    text = "".join(page.text)
    assert actual in text and "980 before the start" not in text
    assert "the stored 1m bars" in text
    statistics = next(t for t in page.tables if t and t[0] == ["Statistic", "Value"])
    assert all(row[0] not in ("warmup", "bars") for row in statistics)
