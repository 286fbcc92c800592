"""The user guide's settings tables say what the program does: they are written from the one
description of each field, and a setting added or changed without rewriting them fails here."""

from __future__ import annotations

import importlib.util

from tests.helpers import PROJECT


def load_script():
    spec = importlib.util.spec_from_file_location("settings_tables",
                                                  PROJECT / "scripts" / "settings_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_user_guide_tables_match_the_description():
    script = load_script()
    text = script.GUIDE.read_text(encoding="utf-8")
    assert script.rewritten(text) == text, (
        "docs/user-guide.md's settings tables are behind the program: run "
        "scripts/settings_tables.py")


def test_a_changed_description_is_caught(monkeypatch):
    from terminal.core import settings

    script = load_script()
    text = script.GUIDE.read_text(encoding="utf-8")
    spec = settings.SPECS["frame_ms"]
    monkeypatch.setitem(settings.SPECS, "frame_ms",
                        type(spec)(**{**spec.__dict__, "help": "something else"}))
    assert script.rewritten(text) != text
