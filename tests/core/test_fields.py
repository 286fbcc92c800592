"""The one description of the settings files (`terminal.core.fields`): every field of
settings.json and risk.json is described, the description is consistent, and both loaders
check values with it, naming the field and the value (one rule for whole numbers in both)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from terminal.core import settings as settings_file
from terminal.core.fields import FieldError, Spec, described, number_text, specs
from terminal.risk import limits
from terminal.risk.limits import MonitorLimits, RiskLimits

DESCRIBED = [(settings_file.Settings, settings_file.SPECS), (RiskLimits, limits.LIMIT_SPECS),
             (MonitorLimits, limits.MONITOR_SPECS)]


@pytest.mark.parametrize(("cls", "described_as"), DESCRIBED)
def test_every_field_of_each_settings_file_is_described(cls, described_as):
    instance = cls()
    assert list(described_as) == [item.name for item in dataclasses.fields(cls)]
    for name, spec in described_as.items():
        assert spec.help.endswith(".") and len(spec.help) < 260, name      # one short sentence
        assert spec.label and spec.default == getattr(instance, name), name
        if spec.numeric:
            assert spec.low <= spec.default <= spec.high, name
    assert tuple(limits.LIMIT_SPECS) == limits.LIMIT_NAMES


def test_a_field_declared_without_a_description_is_refused():
    @dataclasses.dataclass
    class Later:
        frame_ms: int = described(16, "Frame.", label="Frame", low=1, high=1000)
        new_setting: float = 1.0

    with pytest.raises(TypeError, match=r"Later\.new_setting has no description"):
        specs(Later)


def spec(**about) -> Spec:
    values = {"name": "lots", "kind": int, "default": 5, "help": "Lots.", "label": "Lots",
              "low": 0, "high": 100}
    return Spec(**{**values, **about})


TEXT = {"kind": str, "default": "a", "low": None, "high": None}


@pytest.mark.parametrize(("about", "words"), [
    ({"low": None, "high": None}, "described inconsistently"),            # a count, no range
    (TEXT | {"low": 0, "high": 1}, "described inconsistently"),          # text with a range
    ({"kind": bool, "default": True, "low": None, "high": None, "off": True},
     "described inconsistently"),
    ({"help": ""}, "described inconsistently"),
    ({"label": ""}, "described inconsistently"),
    ({"default": 50, "high": 9}, "lots: 50 is outside 0..9"),           # a typo in the default
    (TEXT | {"default": "blue", "choices": ("dark",)}, "expected one of dark, got 'blue'"),
])
def test_a_description_that_contradicts_itself_is_refused(about, words):
    with pytest.raises((TypeError, FieldError), match=words):
        spec(**about)


def test_a_type_no_loader_can_check_is_refused():
    @dataclasses.dataclass
    class Odd:
        pair: tuple[int, int] = described((1, 2), "Pair.", label="Pair")

    with pytest.raises(TypeError, match=r"Odd\.pair"):
        specs(Odd)


@pytest.mark.parametrize(("value", "message"), [
    (2.5, "lots: expected a whole number, got 2.5"),
    (float("inf"), "lots: inf is outside 0..100"),
    (float("nan"), "lots: expected a number, got nan"),
    (101, "lots: 101 is outside 0..100"),
    (10**400, "lots: 1" + "0" * 75 + "...0 is outside 0..100"),     # quoted short
    ("5", "lots: expected a number, got '5'"),
    (True, "lots: expected a number, got True"),
    (None, "lots: expected a number, got None"),
])
def test_a_refused_value_is_named_with_its_field(value, message):
    with pytest.raises(FieldError) as raised:
        spec().check(value)
    assert str(raised.value) == message


def test_whole_numbers_given_as_integral_floats_are_taken_as_ints():
    assert spec().check(7.0) == 7 and type(spec().check(7.0)) is int
    assert spec(off=True).check(None) == 0
    assert type(spec(kind=float, default=1.0).check(3)) is float
    with pytest.raises(FieldError, match=r"lots: 7 is outside 0..5 \(0 is off\)"):
        spec(off=True, high=5).check(7)


@pytest.mark.parametrize(("text", "value"), [
    ("1000", 1000), ("1e13", 1e13), ("0.05", 0.05), ("2147483647", 2**31 - 1), ("0", 0.0),
    ("0.123456789", 0.123456789), ("1e12", 1e12)])
def test_bounds_read_as_typed(text, value):
    assert number_text(value) == text and json.loads(text) == value


def test_the_tooltip_says_help_range_and_default():
    frame = settings_file.SPECS["frame_ms"]
    assert frame.tooltip() == (f"{frame.help}\nTakes a whole number in 1..1000; default 16.")
    band = limits.LIMIT_SPECS["price_band"]
    assert band.tooltip().endswith("Takes a number in 0..1, 0 switches it off; default 0.05.")
    assert settings_file.SPECS["theme"].tooltip().endswith("Takes one of dark, light; "
                                                           "default \"dark\".")


# ---------------------------------------------------------------------------- both loaders
@pytest.mark.parametrize(("given", "taken"), [(20.0, 20), (20, 20)])
def test_both_files_take_an_integral_float_for_a_count(given, taken):
    loaded, warnings = settings_file.parse({"frame_ms": given})
    assert (loaded.frame_ms, warnings) == (taken, [])
    assert type(loaded.frame_ms) is int
    risk = limits.parse({"global": {"max_position": given},
                         "symbols": {"rb2701.SHFE": {"max_order_volume": given}}})
    assert risk.problems == () and risk.unusable == ""
    assert risk.config.global_limits.max_position == taken
    assert type(risk.config.global_limits.max_position) is int
    assert risk.config.symbols == {"rb2701.SHFE": {"max_order_volume": taken}}


def test_both_files_refuse_a_fractional_count_naming_field_and_value():
    loaded, warnings = settings_file.parse({"frame_ms": 20.5, "sim_seed": "7"})
    assert warnings == ["frame_ms: expected a whole number, got 20.5; using the default 16",
                        "sim_seed: expected a number, got '7'; using the default 0"]
    assert (loaded.frame_ms, loaded.sim_seed) == (16, 0)
    risk = limits.parse({"global": {"max_position": 20.5},
                         "symbols": {"rb2701.SHFE": {"max_order_volume": 2.5}},
                         "monitors": {"stale_seconds": -1, "flatten_on_position_loss": 1}})
    assert risk.problems == (
        "global.max_position: expected a whole number, got 20.5; using the default 100",
        ("symbols.rb2701.SHFE.max_order_volume: expected a whole number, got 2.5; using the "
         "global value 50"),
        "monitors.stale_seconds: -1 is outside 0..86400 (0 is off); using the default 30.0",
        ("monitors.flatten_on_position_loss: expected true or false, got 1; using the default "
         "False"))
    assert risk.unusable == "" and risk.config.state is limits.TradingState.ACTIVE
    assert risk.config.symbols == {} and risk.config.global_limits.max_position == 100


def test_a_long_bad_value_is_quoted_short_in_both_files():
    long = "x" * 5000
    _, warnings = settings_file.parse({"theme": long})
    risk = limits.parse({"global": {"max_position": long}})
    for message in [*warnings, *risk.problems]:
        assert len(message) < 200 and "'xxxx" in message, message
