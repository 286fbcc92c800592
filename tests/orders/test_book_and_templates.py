"""The managed orders' book (one row per group, read back as it was written; a damaged file
kept aside loudly) and the named bracket templates (checked field by field, lots shared out in
proportion, one file written whole)."""

from __future__ import annotations

import json

import pytest

from terminal.orders.book import ManagedBook, group_from_json, group_to_json
from terminal.orders.templates import (BracketTemplate, OrderTemplates, Target, TemplateError,
                                       from_dict, to_dict)
from tests.helpers.managed import long_bracket, market


def test_a_group_is_read_back_exactly_as_it_was_written(tmp_path):
    x, engine, _ = market()
    long_bracket(x, engine, BracketTemplate("T", stop_ticks=10, targets=(Target(20, 1),
                                                                          Target(30, 1)),
                                            trail_ticks=3))
    (group,) = engine._groups.values()
    assert group_from_json(group_to_json(group)) == group
    book = ManagedBook(tmp_path / "managed_orders.db")
    book.save(group)
    book.close()
    again = ManagedBook(tmp_path / "managed_orders.db")
    assert again.load_active() == ([group], [])
    again.close()


def test_a_damaged_book_is_kept_aside_and_the_terminal_says_stops_are_not_armed(data_dir):
    from terminal.core import paths
    from terminal.core.alerts import SEVERE
    from terminal.core.settings import Settings
    from terminal.system import runtime as runtime_module

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "managed_orders.db").write_bytes(b"not a database at all" * 100)
    runtime = runtime_module.build(paths.prepare(data_dir), Settings())
    try:
        (problem,) = [a for a in runtime.startup_problems if a.rule == "managed_order"]
        assert problem.severity == SEVERE and "NOT armed" in problem.message
        assert list(data_dir.glob("managed_orders.db.broken-*"))
    finally:
        runtime.close()


def test_a_template_shares_its_lots_in_proportion_and_never_a_zero_lot_target():
    template = BracketTemplate("Three", stop_ticks=8,
                               targets=(Target(8, 2), Target(16, 1), Target(24, 1)))
    assert template.target_lots(4) == [(8, 2), (16, 1), (24, 1)]
    assert template.target_lots(2) == [(8, 1), (16, 1)]       # 1, 0.5, 0.5: first remainder
    assert template.target_lots(1) == [(8, 1)]
    assert template.target_lots(8) == [(8, 4), (16, 2), (24, 2)]
    assert sum(lots for _, lots in template.target_lots(7)) == 7


@pytest.mark.parametrize(("fields", "words"), [
    ({"stop_ticks": 0}, "stop_ticks must be a whole number from 1"),
    ({"targets": (Target(10, 1), Target(5, 1))}, "further and further away"),
    ({"targets": (Target(1, 1),) * 4}, "0 to 3 targets"),
    ({"breakeven_after": 4, "breakeven_offset": 4}, "must be below breakeven_after"),
    ({"trail_ticks": 3, "trail_atr": 1.5}, "ticks or by ATR, not both"),
    ({"trail_atr": float("nan")}, "trail_atr must be a number from 0 to 100"),
    ({"name": "a/b"}, "may not contain /"),
    ({"stop_limit_ticks": -1}, "stop_limit_ticks must be a whole number"),
])
def test_a_bad_template_is_refused_naming_the_field(fields, words):
    with pytest.raises(TemplateError, match=words):
        BracketTemplate(**{"name": "T", "stop_ticks": 5, **fields})


def test_templates_round_trip_and_a_bad_file_is_kept_aside(tmp_path):
    path = tmp_path / "order_templates.json"
    kept = OrderTemplates(path)
    scalp = BracketTemplate("Scalp", stop_ticks=6, targets=(Target(6, 1), Target(12, 1)),
                            breakeven_after=4, breakeven_offset=1, stop_limit_ticks=2)
    kept.save(scalp)
    kept.default = "scalp"
    again = OrderTemplates(path)
    assert again.names() == ["Scalp"] and again.get("SCALP") == scalp
    assert again.default == "Scalp" and from_dict(to_dict(scalp)) == scalp
    data = json.loads(path.read_text())
    data["templates"][0]["stop_ticks"] = "six"
    path.write_text(json.dumps(data))
    broken = OrderTemplates(path)
    assert broken.names() == [] and "stop_ticks must be a whole number" in broken.problem
    assert list(tmp_path.glob("order_templates.json.broken-*"))


def test_a_rename_keeps_the_default_and_is_one_write(tmp_path):
    kept = OrderTemplates(tmp_path / "order_templates.json")
    kept.put(BracketTemplate("Scalp", stop_ticks=6), default=True)
    writes = []
    real = kept._write
    kept._write = lambda: (writes.append(1), real())
    kept.put(BracketTemplate("Quick", stop_ticks=5), replaces="scalp")
    assert writes == [1]
    again = OrderTemplates(tmp_path / "order_templates.json")
    assert again.names() == ["Quick"] and again.default == "Quick"
    again.put(BracketTemplate("Quick", stop_ticks=4), default=False)
    assert OrderTemplates(tmp_path / "order_templates.json").default is None
