"""Chart templates without windows: kept whole in one file, names checked as workspaces' are,
every indicator and the volume profile's settings checked, a file of the first format (no
profile) read as before, and a file that cannot be used kept aside and named."""

from __future__ import annotations

import json
import re

import pytest

from terminal.market.chart_templates import ChartTemplates, TemplateError

TREND = [{"kind": "MA", "params": {"n": 10}},
         {"kind": "MACD", "params": {"fast": 5, "slow": 30, "signal": 4}}]
OFF = {"mode": "off", "ticks_per_row": None}
SESSIONS = {"mode": "session", "ticks_per_row": 5}


def file_of(tmp_path):
    return tmp_path / "chart_templates.json"


def test_templates_are_kept_and_read_back_with_the_default(tmp_path):
    path = file_of(tmp_path)
    templates = ChartTemplates(path)
    assert templates.names() == [] and templates.default is None and not templates.problem
    assert templates.default_indicators() == [] and not path.exists()
    assert templates.save("  Trend ", TREND) == "Trend"
    templates.save("bands", [{"kind": "BOLL"}])           # defaults filled in
    templates.set_default("TREND")
    again = ChartTemplates(path)
    assert again.names() == ["bands", "Trend"] and again.default == "Trend"
    assert again.indicators("trend") == TREND
    assert again.indicators("Bands") == [{"kind": "BOLL", "params": {"n": 20, "k": 2.0}}]
    assert again.default_indicators() == TREND
    # A copy: changing what was handed out changes nothing kept.
    again.indicators("Trend")[0]["params"]["n"] = 99
    assert again.indicators("Trend") == TREND

    # Saved again under another case: replaced, the name as typed now, still the default.
    again.save("TREND", [{"kind": "RSI", "params": {"n": 7}}])
    assert again.names() == ["bands", "TREND"] and again.default == "TREND"
    again.delete("trend")
    assert again.names() == ["bands"] and again.default is None
    assert json.loads(path.read_text()) == {
        "version": 2, "default": None,
        "templates": [{"name": "bands", "indicators": [{"kind": "BOLL",
                                                        "params": {"n": 20, "k": 2.0}}],
                       "volume_profile": OFF}]}
    with pytest.raises(TemplateError, match="no chart template named 'Trend'"):
        again.set_default("Trend")
    with pytest.raises(TemplateError, match="no chart template named"):
        again.indicators("nothing")
    again.set_default(None)
    assert ChartTemplates(path).default is None


def test_the_volume_profile_is_kept_with_the_template(tmp_path):
    path = file_of(tmp_path)
    templates = ChartTemplates(path)
    assert templates.default_volume_profile() == OFF          # no default: the profile off
    templates.save("Auction", TREND, SESSIONS)
    templates.save("Auto rows", [], {"mode": "visible", "ticks_per_row": 0})   # 0: automatic
    templates.save("Plain", TREND)                             # no profile given: off
    templates.set_default("auction")
    again = ChartTemplates(path)
    assert not again.problem
    assert again.volume_profile("AUCTION") == SESSIONS and again.indicators("Auction") == TREND
    assert again.volume_profile("Auto rows") == {"mode": "visible", "ticks_per_row": None}
    assert again.volume_profile("Plain") == OFF
    assert again.default_volume_profile() == SESSIONS
    again.volume_profile("Auction")["mode"] = "off"            # a copy
    assert again.volume_profile("Auction") == SESSIONS
    with pytest.raises(TemplateError, match="no chart template named"):
        again.volume_profile("nothing")


def test_a_file_of_the_first_format_is_read_as_before_with_the_profile_off(tmp_path):
    path = file_of(tmp_path)
    old = {"version": 1, "default": "Trend",
           "templates": [{"name": "Trend", "indicators": TREND},
                         {"name": "Bands", "indicators": [{"kind": "BOLL"}],
                          "volume_profile": "ignored: version 1 had none"}]}
    path.write_text(json.dumps(old))
    templates = ChartTemplates(path)
    assert not templates.problem and templates.names() == ["Bands", "Trend"]
    assert templates.default == "Trend" and templates.default_indicators() == TREND
    assert templates.default_volume_profile() == OFF and templates.volume_profile("Bands") == OFF
    assert json.loads(path.read_text()) == old and not list(tmp_path.glob("*.broken-*"))
    templates.save("Auction", [], SESSIONS)              # written in the new format, all kept
    written = json.loads(path.read_text())
    assert written["version"] == 2 and written["default"] == "Trend"
    assert [(t["name"], t["volume_profile"]) for t in written["templates"]] == [
        ("Auction", SESSIONS), ("Bands", OFF), ("Trend", OFF)]
    assert ChartTemplates(path).indicators("Bands") == [{"kind": "BOLL",
                                                         "params": {"n": 20, "k": 2.0}}]


@pytest.mark.parametrize(("profile", "reason"), [
    ({"mode": "sideways"}, "volume profile mode must be one of off, visible, session"),
    ({"mode": "visible", "ticks_per_row": -1}, "ticks a row must be a whole number from 0"),
    ({"mode": "visible", "ticks_per_row": 100_001},
     "ticks a row must be a whole number from 0 (automatic) to 100000, got 100001"),
    ({"mode": "visible", "ticks_per_row": True}, "ticks a row must be a whole number"),
    ({"mode": "visible", "ticks_per_row": 2.5},
     "ticks a row must be a whole number from 0 (automatic) to 100000, got 2.5"),
    ({"mode": "visible", "rows": 3}, "volume profile settings have no 'rows'"),
    ("session", "volume profile settings must be a mapping"),
])
def test_a_bad_profile_is_refused_on_save_and_a_file_holding_one_is_kept_aside(
        tmp_path, profile, reason):
    path = file_of(tmp_path)
    templates = ChartTemplates(path)
    templates.save("Kept", TREND, SESSIONS)
    before = path.read_bytes()
    with pytest.raises(TemplateError, match=re.escape(f"template 'Kept': {reason}")):
        templates.save("Kept", TREND, profile)
    assert path.read_bytes() == before and templates.volume_profile("Kept") == SESSIONS

    content = json.dumps({"version": 2, "default": None, "templates": [
        {"name": "Good", "indicators": [], "volume_profile": OFF},
        {"name": "Bad", "indicators": TREND, "volume_profile": profile}]})
    path.write_text(content)
    again = ChartTemplates(path)
    assert f"chart_templates.json, template 'Bad': {reason}" in again.problem
    assert again.names() == [] and not path.exists()
    (aside,) = tmp_path.glob("chart_templates.json.broken-*")
    assert aside.read_text() == content and aside.name in again.problem


def test_a_template_of_the_new_format_without_a_profile_is_kept_aside(tmp_path):
    path = file_of(tmp_path)
    path.write_text('{"version": 2, "templates": [{"name": "A", "indicators": []}]}')
    templates = ChartTemplates(path)
    assert "template 'A': no volume profile settings" in templates.problem
    assert templates.names() == [] and list(tmp_path.glob("chart_templates.json.broken-*"))


@pytest.mark.parametrize(("name", "reason"), [
    ("", "a template needs a name"), ("a/b", "a template name may not contain /"),
    ("CON", "device name"), (".x", "dot"), ("x" * 65, "at most 64"), (None, "must be text"),
])
def test_bad_names_are_refused_and_nothing_is_written(tmp_path, name, reason):
    templates = ChartTemplates(file_of(tmp_path))
    with pytest.raises(TemplateError, match=reason):
        templates.save(name, TREND)
    assert templates.names() == [] and not file_of(tmp_path).exists()


@pytest.mark.parametrize(("indicators", "reason"), [
    ([{"kind": "MA", "params": {"n": 0}}], r"indicator 1 \(MA\): n must be between 1"),
    ([{"kind": "MA"}, {"kind": "WMA"}], "indicator 2: no indicator 'WMA'"),
    ([{"kind": "MACD", "params": {"fast": 30, "slow": 5}}], "fast must be shorter than slow"),
    ([{"kind": "RSI", "params": {"period": 3}}], "RSI has no parameter 'period'"),
    ([{"kind": "MA", "params": [20]}], "parameters must be an object"),
    (["MA"], "indicator 1: not a kind with parameters"),
])
def test_bad_indicators_are_refused_naming_them(tmp_path, indicators, reason):
    templates = ChartTemplates(file_of(tmp_path))
    templates.save("Kept", TREND)
    before = file_of(tmp_path).read_bytes()
    with pytest.raises(TemplateError, match=reason):
        templates.save("Kept", indicators)
    assert file_of(tmp_path).read_bytes() == before and templates.indicators("Kept") == TREND


@pytest.mark.parametrize(("content", "reason"), [
    ("{not json", "chart_templates.json is unreadable"),
    ("[]", "holds list, not an object"),
    ('{"version": 3, "templates": []}', "version 3; this terminal reads version 1 or 2"),
    ('{"version": true, "templates": []}', "version True; this terminal reads"),
    ('{"version": 1, "templates": [{"name": "A", "indicators": [{"kind": "XX"}]}]}',
     "template 'A', indicator 1: no indicator 'XX'"),
    ('{"version": 1, "templates": [{"name": "a/b", "indicators": []}]}',
     "template 1: 'a/b': a template name may not contain /"),
    (('{"version": 1, "templates": [{"name": "A", "indicators": []}, '
      '{"name": "a", "indicators": []}]}'), "the name 'a' is there twice"),
    ('{"version": 1, "default": "B", "templates": [{"name": "A", "indicators": []}]}',
     "the default 'B' is not one of its templates"),
])
def test_a_damaged_file_is_kept_aside_and_named(tmp_path, content, reason):
    path = file_of(tmp_path)
    path.write_text(content)
    templates = ChartTemplates(path)
    assert reason in templates.problem and templates.names() == []
    (aside,) = tmp_path.glob("chart_templates.json.broken-*")
    assert aside.read_text() == content and aside.name in templates.problem
    assert not path.exists()
    templates.save("New", TREND)            # a new file; the damaged one stays aside
    assert ChartTemplates(path).names() == ["New"] and aside.read_text() == content


def test_a_failed_write_changes_nothing(tmp_path):
    path = file_of(tmp_path)
    templates = ChartTemplates(path)
    templates.save("A", TREND)
    path.unlink()
    path.mkdir()                                # the file cannot be replaced now
    with pytest.raises(TemplateError, match="could not be written to"):
        templates.save("B", TREND)
    with pytest.raises(TemplateError, match="could not be written to"):
        templates.delete("A")
    assert templates.names() == ["A"] and templates.default is None


@pytest.mark.parametrize("content", ["{not json", '{"version": 1, "templates": 3}'])
def test_a_damaged_file_that_cannot_be_moved_aside_is_never_written_over(tmp_path, monkeypatch,
                                                                        content):
    def cannot_move(path, companions=()):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("terminal.core.jsonfile.set_aside", cannot_move)
    monkeypatch.setattr("terminal.market.chart_templates.set_aside", cannot_move)
    path = file_of(tmp_path)
    path.write_text(content)
    templates = ChartTemplates(path)
    assert "could not be moved aside" in templates.problem and templates.names() == []
    with pytest.raises(TemplateError, match="move it away"):
        templates.save("A", TREND)
    assert path.read_text() == content
