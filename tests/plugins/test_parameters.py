"""The one reading of a strategy parameter typed by a trader: by the type of the class's
default, whole numbers for an int, finite numbers for a float, the six word pairs for a bool,
text without the spaces at its ends; everything else refused with the parameter and the text
named. Ranges for the optimiser read by the same rule."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.plugins.parameters import (
    ParameterValueError, check_name, kind_of, param_text, parse_param, parse_range)

BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True,
              "false": False, "no": False, "off": False, "0": False}


@pytest.mark.parametrize(("text", "value"), [("3", 3), (" 3 ", 3), ("-12", -12), ("+7", 7),
                                         ("0", 0), ("123456789012345", 123456789012345)])
def test_an_int_takes_whole_numbers(text, value):
    parsed = parse_param("window", text, 10)
    assert parsed == value and type(parsed) is int


@pytest.mark.parametrize("text", ["1.0", "3.5", "", " ", "ten", "1e3", "0x10", "1_000", "3 4",
                                  "nan", "inf", "True", "٣"])
def test_an_int_refuses_anything_else_naming_the_parameter_and_the_text(text):
    with pytest.raises(ParameterValueError) as caught:
        parse_param("window", text, 10)
    assert str(caught.value) == f"window: {text!r} is not a whole number (the default is 10)"


@pytest.mark.parametrize(("text", "value"), [("2", 2.0), ("0.5", 0.5), (" -1.25 ", -1.25),
                                         (".5", 0.5), ("5.", 5.0), ("1e-3", 0.001),
                                         ("+2E2", 200.0)])
def test_a_float_takes_finite_numbers(text, value):
    parsed = parse_param("stop", text, 3.0)
    assert parsed == value and type(parsed) is float


@pytest.mark.parametrize("text", ["", "a lot", "1,5", "1.2.3", "e5", "0x1p3"])
def test_a_float_refuses_what_is_not_a_number(text):
    with pytest.raises(ParameterValueError, match=r"^stop: .* is not a number \(the default "
                       r"is 3\.0\)$"):
        parse_param("stop", text, 3.0)


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "1e400"])
def test_a_float_refuses_what_is_not_finite(text):
    with pytest.raises(ParameterValueError) as caught:
        parse_param("stop", text, 3.0)
    assert "is not " in str(caught.value) and f"stop: {text!r}" in str(caught.value)


@pytest.mark.parametrize(("word", "value"), sorted(BOOL_WORDS.items()))
def test_a_bool_takes_six_word_pairs_in_any_case(word, value):
    for text in (word, word.upper(), word.capitalize(), f" {word} "):
        assert parse_param("trailing", text, True) is value
        assert parse_param("trailing", text, False) is value


@pytest.mark.parametrize("text", ["", " ", "maybe", "y", "n", "2", "-1", "truth", "null"])
def test_a_bool_refuses_empty_and_unknown_text(text):
    with pytest.raises(ParameterValueError) as caught:
        parse_param("trailing", text, True)
    assert str(caught.value) == (f"trailing: {text!r} is not true or false (true/false, "
                                 "yes/no, on/off or 1/0; the default is True)")


def test_text_is_taken_without_its_end_spaces_and_anything_else_as_text():
    assert parse_param("note", " a b ", "x") == "a b"
    assert parse_range("mode", "a, b", "x") == ["a", "b"]
    assert parse_param("note", "", "x") == ""
    assert parse_param("things", "1,2", None) == "1,2"
    assert [kind_of(v) for v in (True, 1, 1.0, "s", None)] == \
        ["bool", "int", "float", "text", "text"]


def test_numpy_numbers_are_shown_as_plain_numbers_and_read_back():
    import numpy as np

    assert param_text(np.float64(0.5)) == "0.5" and parse_param("x", "0.5", 1.0) == 0.5
    assert param_text(np.int64(7)) == "7" and parse_param("n", "7", 1) == 7


@given(st.integers(min_value=-10**18, max_value=10**18))
def test_an_int_shown_in_a_field_reads_back_the_same(value):
    assert parse_param("n", param_text(value), 1) == value


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_shown_in_a_field_reads_back_the_same(value):
    parsed = parse_param("x", param_text(value), 1.0)
    assert parsed == value and math.copysign(1, parsed) == math.copysign(1, value)


@given(st.booleans())
def test_a_bool_shown_in_a_field_reads_back_the_same(value):
    assert parse_param("b", param_text(value), False) is value


@given(st.text())
def test_an_int_never_comes_from_text_that_is_not_a_whole_number(text):
    try:
        value = parse_param("n", text, 1)
    except ParameterValueError as exc:  # a property: the text drawn decides which outcome
        assert str(exc).startswith(f"n: {text!r} is not a whole number")  # noqa: PT017
    else:
        digits = text.strip()[1:] if text.strip()[:1] in "+-" else text.strip()
        assert digits and set(digits) <= set("0123456789")
        assert type(value) is int and value == int(text.strip())


@given(st.text())
def test_a_bool_is_true_or_false_only_from_its_words(text):
    try:
        value = parse_param("b", text, True)
    except ParameterValueError:
        assert text.strip().lower() not in BOOL_WORDS
    else:
        assert value is BOOL_WORDS[text.strip().lower()]


@given(st.text())
def test_a_float_is_always_finite(text):
    try:
        value = parse_param("x", text, 1.0)
    except ParameterValueError:
        return
    assert math.isfinite(value)


def test_ranges_by_the_same_rule():
    assert parse_range("window", "5:20:5", 10) == (5, 20, 5)
    assert parse_range("stop", "1:2:0.25", 3.0) == (1.0, 2.0, 0.25)
    assert parse_range("window", "5, 10,15", 10) == [5, 10, 15]
    assert parse_range("trailing", "yes,no", True) == [True, False]
    with pytest.raises(ParameterValueError, match=r"^window: '1\.0' is not a whole number"):
        parse_range("window", "1.0:5:1", 10)
    with pytest.raises(ParameterValueError, match=r"^window: '1\.0' is not a whole number"):
        parse_range("window", "3,1.0", 10)
    with pytest.raises(ParameterValueError, match=r"^trailing: 'maybe' is not true or false"):
        parse_range("trailing", "yes,maybe", True)
    with pytest.raises(ParameterValueError, match="start 5 is above stop 3"):
        parse_range("window", "5:3:1", 10)
    with pytest.raises(ParameterValueError, match="the step '0' must be above 0"):
        parse_range("window", "1:3:0", 10)
    with pytest.raises(ParameterValueError, match="is not START:STOP:STEP"):
        parse_range("window", "1:3", 10)
    with pytest.raises(ParameterValueError, match="give its values as a list"):
        parse_range("trailing", "0:1:1", True)
    with pytest.raises(ParameterValueError, match="window: no values given"):
        parse_range("window", " , ", 10)


def test_an_unknown_parameter_is_named_with_the_ones_there_are():
    check_name("Ma", {"fast": 1}, "fast")
    with pytest.raises(ParameterValueError) as caught:
        check_name("Ma", {"fast": 1, "slow": 2.0}, "fats")
    assert str(caught.value) == ("Ma has no parameter 'fats'; its parameters: fast (default "
                                 "1), slow (default 2.0)")
