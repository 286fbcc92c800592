"""The drawing model: validation naming the field, JSON round trips, undo and redo, the line's
price for alerts, and the per-symbol files (atomic, damaged ones kept aside, newer kept)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from terminal.market.drawings import (ANCHORS, FIB_LEVELS, KINDS, Anchor, Drawing,
                                      DrawingBook, DrawingError, Drawings, Style, line_price,
                                      new_drawing)

MINUTE = 60_000_000_000
T0 = 1_695_603_660_000_000_000      # 2023-09-25 09:01 +08:00


def anchors(count: int) -> list[Anchor]:
    return [Anchor(T0 + i * 10 * MINUTE, 3700.0 + i * 5) for i in range(count)]


def every_kind() -> list[Drawing]:
    return [new_drawing(kind, anchors(ANCHORS[kind])) for kind in KINDS]


def test_every_kind_round_trips_through_json():
    for drawing in every_kind():
        styled = Drawing(**{**drawing.__dict__, "style": Style("#FF0000", 3, "dot"),
                            "locked": True, "text": "note",
                            "levels": (0.0, 0.5, 1.618) if drawing.kind == "fib" else ()})
        text = json.dumps(styled.to_dict())
        back = Drawing.from_dict(json.loads(text))
        assert back == styled
        assert back.style.color == "#ff0000"


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "circle"}, "kind"),
    ({"anchors": [{"time_ns": T0, "price": 1.0}]}, "anchors"),
    ({"anchors": [{"time_ns": T0, "price": 1.0}, {"time_ns": T0, "price": "x"}]},
     "anchors[1].price"),
    ({"anchors": [{"time_ns": T0, "price": 1.0}, {"time_ns": 1.5, "price": 2.0}]},
     "anchors[1].time_ns"),
    ({"anchors": [{"time_ns": T0, "price": 1.0}, {"price": 2.0}]}, "anchors[1].time_ns"),
    ({"anchors": [{"time_ns": T0, "price": float("nan")}, {"time_ns": T0, "price": 2.0}]},
     "anchors[0].price"),
    ({"style": {"color": "red"}}, "style.color"),
    ({"style": {"width": 9}}, "style.width"),
    ({"style": {"dash": "wavy"}}, "style.dash"),
    ({"locked": "yes"}, "locked"),
    ({"text": "x" * 501}, "text"),
    ({"levels": [0.5]}, "levels"),          # a trend has no levels
    ({"id": "../../etc"}, "id"),
])
def test_bad_input_names_the_field(change, field):
    raw = {**new_drawing("trend", anchors(2)).to_dict(), **change}
    with pytest.raises(DrawingError, match=rf"^{field.replace('[', '.').replace(']', '.')}"):
        Drawing.from_dict(raw)


def test_fib_levels_are_checked_and_default():
    fib = new_drawing("fib", anchors(2))
    assert fib.fib_levels == FIB_LEVELS
    with pytest.raises(DrawingError, match=r"levels\[1\]"):
        new_drawing("fib", anchors(2), levels=(0.5, 0.5))
    with pytest.raises(DrawingError, match=r"levels\[0\]"):
        new_drawing("fib", anchors(2), levels=(42.0,))


def test_a_newer_versions_fields_are_kept():
    raw = {**new_drawing("hline", anchors(1)).to_dict(), "alert_colour": {"r": 1}}
    drawing = Drawing.from_dict(raw)
    assert drawing.moved(MINUTE, 1.0).to_dict()["alert_colour"] == {"r": 1}


@pytest.mark.parametrize("time_ns", [10**320, -1, 0, 631_151_999_999_999_999,
                                     4_102_444_800 * 10**9],
                         ids=["1e320", "-1", "1970", "1989", "2100"])
def test_an_anchor_read_at_an_absurd_time_is_refused_naming_it(time_ns):
    raw = new_drawing("trend", anchors(2)).to_dict()
    raw["anchors"][1]["time_ns"] = time_ns
    with pytest.raises(DrawingError, match=r"^anchors\[1\]\.time_ns: .* is not a time from "
                                           r"1990-01-01 to 2100-01-01 UTC"):
        Drawing.from_dict(raw)
    raw["anchors"][1]["time_ns"] = 4_102_444_800 * 10**9 - 1      # the last one taken
    assert Drawing.from_dict(raw).anchors[1].time_ns == 4_102_444_800 * 10**9 - 1


def test_moved_and_with_anchor():
    trend = new_drawing("trend", anchors(2))
    moved = trend.moved(5 * MINUTE, -2.5)
    pairs = list(zip(moved.anchors, trend.anchors, strict=True))
    assert [a.time_ns - b.time_ns for a, b in pairs] == [5 * MINUTE] * 2
    assert [a.price - b.price for a, b in pairs] == [-2.5] * 2
    assert moved.id == trend.id
    changed = trend.with_anchor(1, Anchor(T0, 1.0))
    assert changed.anchors == (trend.anchors[0], Anchor(T0, 1.0))
    with pytest.raises(DrawingError, match=r"anchors\[2\]"):
        trend.with_anchor(2, Anchor(T0, 1.0))


def test_undo_and_redo_each_change_one_step():
    book = DrawingBook("rb2401.SHFE")
    heard = []
    book.listen(heard.append)
    a, b = new_drawing("hline", anchors(1)), new_drawing("trend", anchors(2))
    book.add(a)
    book.add(b)
    a2 = a.moved(0, 10.0)
    book.replace(a2)
    book.remove(b.id)
    assert book.drawings() == [a2]
    assert book.undo() and book.drawings() == [a2, b]
    assert book.undo() and book.drawings() == [a, b]      # z order kept
    assert book.undo() and book.drawings() == [a]
    assert book.redo() and book.drawings() == [a, b]
    book.add(new_drawing("vline", anchors(1)))             # a new change drops the redo
    assert not book.can_redo and not book.redo()
    while book.undo():
        pass
    assert book.drawings() == [] and not book.can_undo
    assert heard == ["rb2401.SHFE"] * (4 + 3 + 1 + 1 + 3)   # changes, undos, redo, add, undos


def test_bad_changes_are_refused_whole():
    book = DrawingBook("rb2401.SHFE")
    a = new_drawing("hline", anchors(1))
    book.add(a)
    with pytest.raises(DrawingError, match="already"):
        book.add(a)
    with pytest.raises(DrawingError, match="no drawing"):
        book.replace(new_drawing("hline", anchors(1)))
    with pytest.raises(DrawingError, match="no drawing"):
        book.remove("nothere")
    assert book.drawings() == [a] and len(book._undo) == 1


def test_a_failing_listener_does_not_stop_the_others():
    book = DrawingBook("rb2401.SHFE")
    heard = []
    book.listen(lambda symbol: 1 / 0)
    unlisten = book.listen(heard.append)
    book.add(new_drawing("hline", anchors(1)))
    unlisten()
    book.undo()
    assert heard == ["rb2401.SHFE"]


def test_add_missing_keeps_newer_ones_and_is_one_step():
    book = DrawingBook("rb2401.SHFE")
    a, b = new_drawing("hline", anchors(1)), new_drawing("trend", anchors(2))
    book.add(a)
    a_newer = a.moved(0, 1.0)
    book.replace(a_newer)
    assert book.add_missing([a, b]) == 1
    assert book.drawings() == [a_newer, b]
    assert book.undo() and book.drawings() == [a_newer]


def test_remove_many_is_one_step_and_keeps_z_order():
    book = DrawingBook("rb2401.SHFE")
    made = every_kind()
    for drawing in made:
        book.add(drawing)
    gone = [made[1].id, made[4].id, made[7].id, "absent"]
    assert book.remove_many(gone) == 3
    assert book.drawings() == [d for i, d in enumerate(made) if i not in (1, 4, 7)]
    assert book.undo() and book.drawings() == made
    assert book.redo() and len(book) == len(made) - 3
    assert book.remove_many(["absent"]) == 0 and book.undo() and book.drawings() == made


def minutes(a_ns: int, b_ns: int) -> float:
    return (b_ns - a_ns) / MINUTE


def test_line_price():
    first, second = Anchor(T0, 100.0), Anchor(T0 + 10 * MINUTE, 110.0)
    at = [T0 - 5 * MINUTE, T0 + 5 * MINUTE, T0 + 20 * MINUTE]
    trend = new_drawing("trend", [first, second])
    assert [line_price(trend, t, minutes) for t in at] == [None, 105.0, None]
    ray = new_drawing("ray", [first, second])
    assert [line_price(ray, t, minutes) for t in at] == [None, 105.0, 120.0]
    back_ray = new_drawing("ray", [second, first])
    assert [line_price(back_ray, t, minutes) for t in at] == [95.0, 105.0, None]
    extended = new_drawing("extended", [first, second])
    assert [line_price(extended, t, minutes) for t in at] == [95.0, 105.0, 120.0]
    assert [line_price(new_drawing("hline", [first]), t, minutes) for t in at] == [100.0] * 3
    assert [line_price(new_drawing("hray", [first]), t, minutes) for t in at] == \
        [None, 100.0, 100.0]
    assert line_price(new_drawing("rectangle", [first, second]), at[1], minutes) is None
    assert line_price(new_drawing("trend", [first, Anchor(T0, 1.0)]), T0, minutes) is None


def heard(problems: list) -> object:
    return lambda symbol, text: problems.append(text)


def test_files_round_trip_and_are_private(tmp_path):
    drawings = Drawings(tmp_path / "drawings")
    book = drawings.book("rb2401.SHFE")
    assert drawings.book("rb2401.SHFE") is book
    heard = []
    drawings.listen(lambda symbol, b: heard.append((symbol, len(b))))
    made = every_kind()
    for drawing in made:
        book.add(drawing)
    assert heard[-1] == ("rb2401.SHFE", len(KINDS))
    path = drawings.path("rb2401.SHFE")
    assert path.exists() and not list(path.parent.glob("*.tmp"))
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Drawings(tmp_path / "drawings").book("rb2401.SHFE").drawings() == made


def test_a_damaged_file_is_kept_aside_and_not_half_read(tmp_path):
    drawings = Drawings(tmp_path)
    good = new_drawing("hline", anchors(1))
    drawings.book("rb2401.SHFE").add(good)
    path = drawings.path("rb2401.SHFE")
    raw = json.loads(path.read_text())
    raw["drawings"].append({**good.to_dict(), "id": "other", "kind": "circle"})
    path.write_text(json.dumps(raw))
    problems = []
    again = Drawings(tmp_path, on_problem=heard(problems))
    assert again.book("rb2401.SHFE").drawings() == []
    assert len(problems) == 1 and "drawings[1]: kind" in problems[0]
    kept = list(tmp_path.glob("rb2401.SHFE.json.broken-*"))
    assert len(kept) == 1 and json.loads(kept[0].read_text()) == raw
    path.write_text('{"format": 1, "vt_symbol": "rb2401.SHFE", "drawings": [')
    assert Drawings(tmp_path, on_problem=heard(problems)).book("rb2401.SHFE").drawings() == []
    assert len(problems) == 2


def test_a_newer_format_is_neither_read_nor_overwritten(tmp_path):
    drawings = Drawings(tmp_path)
    path = drawings.path("rb2401.SHFE")
    text = json.dumps({"format": 99, "vt_symbol": "rb2401.SHFE", "drawings": [{"x": 1}]})
    path.write_text(text)
    problems = []
    book = Drawings(tmp_path, on_problem=heard(problems)).book("rb2401.SHFE")
    assert book.drawings() == [] and "newer version" in problems[0]
    with pytest.raises(DrawingError, match="newer format"):
        book.add(new_drawing("hline", anchors(1)))
    assert path.read_text() == text


def test_top_level_fields_of_a_newer_version_are_kept(tmp_path):
    drawings = Drawings(tmp_path)
    drawings.book("rb2401.SHFE").add(new_drawing("hline", anchors(1)))
    path = drawings.path("rb2401.SHFE")
    path.write_text(json.dumps({**json.loads(path.read_text()), "groups": [1, 2]}))
    Drawings(tmp_path).book("rb2401.SHFE").add(new_drawing("vline", anchors(1)))
    assert json.loads(path.read_text())["groups"] == [1, 2]


def test_a_failed_write_is_reported_and_kept_in_memory(tmp_path):
    blocker = tmp_path / "drawings"
    blocker.write_text("a file where the folder should be")
    problems = []
    book = Drawings(blocker, on_problem=heard(problems)).book("rb2401.SHFE")
    book.add(new_drawing("hline", anchors(1)))
    assert len(book) == 1 and "could not be saved" in problems[0]


def test_symbol_names_cannot_leave_the_folder(tmp_path):
    drawings = Drawings(tmp_path)
    assert drawings.path("a/../../x").parent == tmp_path
    assert drawings.path("SP a2405&a2409.DCE").name == "SP%20a2405%26a2409.DCE.json"
    with pytest.raises(DrawingError, match="vt_symbol"):
        drawings.path(".hidden")
