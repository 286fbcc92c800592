"""Price alerts: every condition, once and re-armed, disabled, the tick grid, lines that move
with time, alerts following their drawing, and the file they are kept in."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from vnpy.trader.constant import Exchange
from vnpy.trader.object import TickData

from terminal.core.timezone import CHINA_TZ, to_ns
from terminal.market import price_alert_file
from terminal.market.alert_book import ChangedMeanwhile, PriceAlerts
from terminal.market.drawings import Anchor, DrawingBook, new_drawing
from terminal.market.price_alerts import (CROSS_DOWN, CROSS_UP, FIRED, LINE_DELETED, TOUCH,
                                          PriceAlert, PriceAlertError, new_alert)

RB = "rb2701.SHFE"
MONDAY = datetime(2026, 11, 16, 9, 0, tzinfo=CHINA_TZ)


class Feed:
    """Ticks of one symbol a second apart (or at the times given), into a book, keeping what
    fired."""

    def __init__(self, alerts: list[PriceAlert], tick: float = 1.0, vt_symbol: str = RB,
                 **kwargs) -> None:
        self.fired: list[tuple[str, float, float, datetime]] = []
        self.book = PriceAlerts(alerts, pricetick=lambda s: tick, on_fire=self._fired,
                                **kwargs)
        self.vt_symbol = vt_symbol
        self.now = MONDAY

    def _fired(self, alert, line, price, when) -> None:
        self.fired.append((alert.id, line, price, when))

    def __call__(self, *prices: float, at: datetime | None = None,
                 vt_symbol: str = "") -> list:
        before = len(self.fired)
        symbol, exchange = (vt_symbol or self.vt_symbol).split(".")
        for price in prices:
            self.now = at or self.now + timedelta(seconds=1)
            self.book.on_tick(TickData("SIM", symbol, Exchange(exchange), self.now,
                                       last_price=price))
        return [(alert_id, line, price) for alert_id, line, price, _ in self.fired[before:]]


def level(price: float, condition: str, **fields) -> PriceAlert:
    return new_alert(RB, condition, level=price, **fields)


def test_crossing_up_fires_once_when_the_price_reaches_the_level_from_below():
    alert = level(3650, CROSS_UP)
    feed = Feed([alert])
    assert feed(3640, 3649, 3648) == []
    assert feed(3650) == [(alert.id, 3650.0, 3650.0)]
    assert feed(3640, 3660) == []                       # once: done
    kept = feed.book.get(alert.id)
    assert (kept.enabled, kept.reason, kept.fired_count) == (False, FIRED, 1)
    assert kept.fired_price == 3650.0 and kept.fired_ns == to_ns(feed.now - timedelta(seconds=2))


def test_crossing_up_is_not_a_fall_and_not_a_start_above():
    alert = level(3650, CROSS_UP)
    feed = Feed([alert])
    assert feed(3660, 3650, 3652, 3651, 3653) == []     # rises from the line, not below it
    assert feed(3650, 3640) == []                       # from above: a fall
    assert feed(3655) == [(alert.id, 3650.0, 3655.0)]   # a jump over the level crosses it


def test_crossing_down():
    alert = level(3650, CROSS_DOWN)
    feed = Feed([alert])
    assert feed(3640, 3655, 3651) == []
    assert feed(3645) == [(alert.id, 3650.0, 3645.0)]


def test_touching_is_equal_or_crossed_either_way():
    at_level, jumped_up, jumped_down = (level(3650, TOUCH) for _ in range(3))
    feed = Feed([at_level])
    assert feed(3650) == [(at_level.id, 3650.0, 3650.0)]   # the very first tick
    feed = Feed([jumped_up])
    assert feed(3648, 3652) == [(jumped_up.id, 3650.0, 3652.0)]
    feed = Feed([jumped_down])
    assert feed(3655, 3651, 3649) == [(jumped_down.id, 3650.0, 3649.0)]


def test_every_time_rearms_only_after_the_price_moved_the_distance_away():
    alert = level(3650, CROSS_UP, once=False, rearm=5)
    feed = Feed([alert])
    assert len(feed(3640, 3650)) == 1
    assert feed.book.get(alert.id).armed is False
    assert feed(3646, 3651, 3647, 3652) == []           # within 5 of the line: waiting
    assert feed(3645) == []                             # 5 below: armed again
    assert feed.book.get(alert.id).armed is True
    assert feed(3651) == [(alert.id, 3650.0, 3651.0)]
    assert feed(3655, 3640, 3650) == [(alert.id, 3650.0, 3650.0)]   # re-armed above, too
    kept = feed.book.get(alert.id)
    assert kept.enabled and kept.fired_count == 3


def test_an_every_time_alert_needs_a_rearm_distance():
    with pytest.raises(PriceAlertError, match=r"^rearm"):
        level(3650, CROSS_UP, once=False, rearm=0)


def test_disabled_alerts_do_not_fire_and_enabling_arms_them():
    alert = level(3650, CROSS_UP, enabled=False)
    feed = Feed([alert])
    assert feed(3640, 3660) == []
    feed.book.set_enabled(alert.id, True)
    assert feed(3640, 3650) == [(alert.id, 3650.0, 3650.0)]
    feed.book.set_enabled(alert.id, True)                # a fired once alert, enabled again
    assert feed(3640, 3650) == [(alert.id, 3650.0, 3650.0)]


def test_prices_are_compared_on_the_tick_grid():
    alert = new_alert("IF2101.CFFEX", TOUCH, level=5230.2)
    feed = Feed([alert], tick=0.2, vt_symbol="IF2101.CFFEX")
    assert feed(5230.4, 0.6 + 5229.6) == [(alert.id, pytest.approx(5230.2), 5229.6 + 0.6)]


def test_the_price_before_the_first_alert_is_where_crossings_start():
    alert = level(3650, CROSS_UP)
    feed = Feed([], last_price=lambda vt_symbol: 3600.0)
    feed.book.add(alert)
    assert feed(3655) == [(alert.id, 3650.0, 3655.0)]


def test_only_the_symbols_own_ticks_count():
    alert = level(3650, CROSS_UP)
    feed = Feed([alert, new_alert("hc2701.SHFE", CROSS_UP, level=3000)])
    assert feed(3000, 3700, vt_symbol="ag2612.SHFE") == []
    assert len(feed(2990, 3010, vt_symbol="hc2701.SHFE")) == 1
    assert feed(3640) == []                             # rb's first tick: nothing crossed


def test_many_alerts_fire_together_in_their_conditions():
    up = [level(3650 + i, CROSS_UP) for i in range(5)]
    down = [level(3650 + i, CROSS_DOWN) for i in range(5)]
    feed = Feed(up + down)
    assert {alert_id for alert_id, *_ in feed(3640, 3652)} == {a.id for a in up[:3]}
    # 3652 is not crossed on the way down: the price left it
    assert {alert_id for alert_id, *_ in feed(3649)} == {a.id for a in down[:2]}


def trend(first_price: float, second_price: float, kind: str = "ray"):
    return new_drawing(kind, [Anchor(to_ns(MONDAY), first_price),
                              Anchor(to_ns(MONDAY + timedelta(minutes=10)), second_price)])


def test_a_ray_is_priced_in_trading_minutes_and_moves_each_minute():
    line = trend(3600, 3610)                             # +1 a trading minute
    alert = new_alert(RB, CROSS_UP, drawing=line)
    feed = Feed([alert])
    assert feed(3620, at=MONDAY + timedelta(minutes=5, seconds=3)) == []
    assert feed.book.line_now(alert.id) == 3605
    # 10:31 is 76 trading minutes on: 09:00-10:15 and 10:30-10:31 (the break is no minute)
    feed(3600, at=MONDAY + timedelta(minutes=91))
    assert feed.book.line_now(alert.id) == 3676
    assert feed(3676, at=MONDAY + timedelta(minutes=91, seconds=20)) == [
        (alert.id, 3676.0, 3676.0)]


def test_a_line_rising_through_a_still_price_is_the_price_crossing_it_down():
    line = trend(3600, 3610)
    down = new_alert(RB, CROSS_DOWN, drawing=line)
    up = new_alert(RB, CROSS_UP, drawing=line)
    feed = Feed([down, up])
    feed(3603, at=MONDAY + timedelta(minutes=1))         # the line at 3601: price above
    assert feed(3603, at=MONDAY + timedelta(minutes=2)) == []                  # line 3602
    assert feed(3603, at=MONDAY + timedelta(minutes=3, seconds=1)) == [(down.id, 3603, 3603)]


def test_a_once_touch_on_a_moving_line_fires_once_when_line_and_price_both_pass():
    # the line passes the last price (3610 -> the line from 3605 to 3625) and the price
    # jumps past the line's new place at the same tick: one firing, not two
    alert = new_alert(RB, TOUCH, drawing=trend(3600, 3610))
    feed = Feed([alert])
    assert feed(3610, at=MONDAY + timedelta(minutes=5, seconds=30)) == []    # line 3605
    assert feed(3630, at=MONDAY + timedelta(minutes=25, seconds=1)) == [
        (alert.id, 3625.0, 3630.0)]
    assert feed.book.get(alert.id).fired_count == 1


def test_time_going_back_prices_the_lines_for_it_and_infers_no_crossing_across_the_jump():
    line = trend(3600, 3610)
    up = new_alert(RB, CROSS_UP, drawing=line)
    down = new_alert(RB, CROSS_DOWN, drawing=line)
    feed = Feed([up, down])
    feed(3650, at=MONDAY + timedelta(minutes=40, seconds=5))        # line 3640, price above
    assert feed.book.line_now(up.id) == 3640
    # a replay sought back to 09:05: the line is where it was then, and the price now below
    # it is no crossing down (the price before the jump was of another time)
    assert feed(3601, at=MONDAY + timedelta(minutes=5, seconds=5)) == []
    assert feed.book.line_now(up.id) == 3605
    assert feed(3606, at=MONDAY + timedelta(minutes=5, seconds=6)) == [(up.id, 3605, 3606)]
    # and forward again: the line, priced for 09:50, rose through the still price
    assert feed(3606, at=MONDAY + timedelta(minutes=50)) == [(down.id, 3650, 3606)]


def test_a_level_alert_infers_no_crossing_across_a_jump_back_in_time():
    alert = level(3650, CROSS_UP)
    feed = Feed([alert])
    feed(3600, at=MONDAY + timedelta(minutes=30))
    assert feed(3660, at=MONDAY + timedelta(minutes=10)) == []
    assert feed(3640, 3650) == [(alert.id, 3650, 3650)]


def test_a_trend_segment_is_watched_only_over_its_span():
    alert = new_alert(RB, TOUCH, drawing=trend(3600, 3610, "trend"))
    feed = Feed([alert])
    assert feed(3620, 3600, at=MONDAY + timedelta(minutes=30)) == []
    assert feed.book.line_now(alert.id) is None


def test_an_edit_made_from_a_copy_older_than_a_firing_is_refused_and_says_so():
    alert = level(3650, CROSS_UP)
    feed = Feed([alert])
    copy = feed.book.get(alert.id)                    # the dialog opens with this copy
    feed(3600, 3655)                                  # ... and the alert fires meanwhile
    fired = feed.book.get(alert.id)
    with pytest.raises(ChangedMeanwhile, match=r"changed meanwhile: it fired at 09:00:02 "
                                               r"\(last 3,655\)") as refused:
        feed.book.replace(copy.edited(note="typed", enabled=True), based_on=copy)
    assert refused.value.current == fired
    assert feed.book.get(alert.id) == fired           # fired_* kept, not enabled again
    assert (fired.enabled, fired.reason, fired.fired_count) == (False, FIRED, 1)
    feed.book.replace(fired.edited(note="typed"), based_on=fired)   # from the new copy: kept
    assert feed.book.get(alert.id).note == "typed"
    with pytest.raises(ChangedMeanwhile, match="it was changed"):
        feed.book.replace(fired.edited(note="again"), based_on=fired)


def test_a_line_that_cannot_be_priced_disables_its_alert_once_and_the_others_go_on():
    absurd = new_drawing("ray", [Anchor(to_ns(MONDAY), 3600.0), Anchor(10**320, 3610.0)])
    broken = new_alert(RB, TOUCH, drawing=absurd)
    fine = level(3650, CROSS_UP)
    saved = []
    feed = Feed([broken, fine], save=saved.append)
    assert feed(3600, 3655) == [(fine.id, 3650, 3655)]          # no error: the level fired
    kept = feed.book.get(broken.id)
    assert kept.enabled is False
    assert kept.reason.startswith("its line cannot be priced (OverflowError")
    assert saved[-1] == feed.book.alerts()                         # saved disabled...
    before = len(saved)
    assert feed(3600, 3700) == [] and len(saved) == before          # ...once, not each tick
    # enabled again by the trader: priced at the next tick, disabled again, nothing raised
    feed.book.set_enabled(broken.id, True)
    assert feed(3601) == []
    assert feed.book.get(broken.id).reason.startswith("its line cannot be priced")


def test_alerts_follow_their_drawing_and_a_deleted_one_disables_them():
    line = new_drawing("hline", [Anchor(to_ns(MONDAY), 3650.0)])
    drawings = DrawingBook(RB, [line])
    alert = new_alert(RB, CROSS_UP, drawing=line)
    feed = Feed([alert])
    drawings.listen(lambda symbol: feed.book.follow(symbol, drawings))
    drawings.replace(line.moved(0, 10))
    assert feed.book.get(alert.id).drawing.anchors[0].price == 3660
    assert feed(3655, 3658) == []
    assert feed.book.drawing_ids(RB) == {line.id}
    drawings.remove(line.id)
    kept = feed.book.get(alert.id)
    assert (kept.enabled, kept.reason) == (False, LINE_DELETED)
    assert feed.book.drawing_ids(RB) == set()
    with pytest.raises(PriceAlertError, match="deleted"):
        feed.book.set_enabled(alert.id, True)
    assert feed(3650, 3670) == []
    drawings.undo()                                     # the line is back: so is the alert
    assert feed.book.get(alert.id).enabled
    assert feed(3650, 3661) == [(alert.id, 3660.0, 3661.0)]


def test_changes_are_saved_and_told_in_order():
    saved, told = [], []
    alert = level(3650, CROSS_UP)
    book = PriceAlerts(save=lambda alerts: saved.append([a.id for a in alerts]))
    book.listen(told.append)
    book.add(alert)
    book.replace(alert.edited(level=3660.0))
    book.remove(alert.id)
    assert saved == [[alert.id], [alert.id], []]
    assert told == [RB, RB, RB]


@pytest.mark.parametrize(("change", "field"), [
    ({"condition": "above"}, "condition"),
    ({"level": -1}, "level"),
    ({"level": "3650"}, "level"),
    ({"once": "no"}, "once"),
    ({"rearm": -2}, "rearm"),
    ({"note": "x" * 301}, "note"),
    ({"fired_count": -1}, "fired_count"),
    ({"colour": "red"}, "colour"),
    ({"drawing": {"id": "x", "kind": "circle", "anchors": []}}, "drawing"),
])
def test_bad_input_names_the_field(change, field):
    raw = {**level(3650, CROSS_UP).to_dict(), **change}
    with pytest.raises(PriceAlertError, match=f"^{field}"):
        PriceAlert.from_dict(raw)


def test_a_rectangle_carries_no_alert():
    box = new_drawing("rectangle", [Anchor(0, 1.0), Anchor(1, 2.0)])
    with pytest.raises(PriceAlertError, match="rectangle"):
        new_alert(RB, TOUCH, drawing=box)


def test_the_file_round_trips(tmp_path):
    path = tmp_path / "price_alerts.json"
    alerts = [level(3650, CROSS_UP, note="breakout"),
              new_alert(RB, TOUCH, drawing=trend(3600, 3610), once=False, rearm=4.0)]
    price_alert_file.write(path, alerts)
    assert price_alert_file.read(path) == (alerts, "")
    assert price_alert_file.read(tmp_path / "none.json") == ([], "")


def test_a_damaged_file_is_kept_aside_and_said(tmp_path):
    path = tmp_path / "price_alerts.json"
    path.write_text('{"format": 1, "alerts": [', encoding="utf-8")
    alerts, problem = price_alert_file.read(path)
    assert alerts == [] and "could not be read" in problem and "broken-" in problem
    assert not path.exists() and len(list(tmp_path.glob("price_alerts.json.broken-*"))) == 1


def test_a_newer_format_is_not_read_nor_overwritten(tmp_path):
    path = tmp_path / "price_alerts.json"
    path.write_text(json.dumps({"format": 2, "alerts": []}), encoding="utf-8")
    with pytest.raises(price_alert_file.NewerFormat, match="newer version") as refused:
        price_alert_file.read(path)
    assert "format 2, this version reads 1" in str(refused.value)
    assert [p.name for p in tmp_path.iterdir()] == ["price_alerts.json"]   # left where it is


def test_a_refused_book_takes_no_change_and_says_why():
    book = PriceAlerts(refused="the file is of a newer version")
    with pytest.raises(PriceAlertError, match="the file is of a newer version"):
        book.add(level(3650, CROSS_UP))
    assert book.alerts() == []


def test_the_readable_entries_are_kept_and_the_others_named(tmp_path):
    path = tmp_path / "price_alerts.json"
    good = level(3650, CROSS_UP)
    bad = {**level(3700, CROSS_UP).to_dict(), "condition": "sideways"}
    path.write_text(json.dumps({"format": 1, "alerts": [good.to_dict(), bad]}),
                    encoding="utf-8")
    alerts, problem = price_alert_file.read(path)
    assert alerts == [good]
    assert f"alerts[1] ({bad['id']}): condition" in problem and "other 1 are watched" in problem
    assert len(list(tmp_path.glob("price_alerts.json.broken-*"))) == 1
