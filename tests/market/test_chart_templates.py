"""Chart templates without windows: kept whole in one file, names checked as workspaces' are,
every indicator checked, and a file that cannot be used kept aside and named."""

from __future__ import annotations

import json

import pytest

from terminal.market.chart_templates import ChartTemplates, TemplateError

TREND = [{"kind": "MA", "params": {"n": 10}},
         {"kind": "MACD", "params": {"fast": 5, "slow": 30, "signal": 4}}]


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
        "version": 1, "default": None,
        "templates": [{"name": "bands", "indicators": [{"kind": "BOLL",
                                                        "params": {"n": 20, "k": 2.0}}]}]}
    with pytest.raises(TemplateError, match="no chart template named 'Trend'"):
        again.set_default("Trend")
    with pytest.raises(TemplateError, match="no chart template named"):
        again.indicators("nothing")
    again.set_default(None)
    assert ChartTemplates(path).default is None


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
    ('{"version": 2, "templates": []}', "version 2; this terminal reads version 1"),
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
