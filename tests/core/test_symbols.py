"""One vt_symbol split for the whole terminal: what it takes, what it refuses, and what the
files matched by exact text (risk.json's symbols) do with a symbol written another way."""

from __future__ import annotations

import json

import pytest
from vnpy.trader.constant import Exchange

from terminal.core.symbols import BadSymbol, canonical_vt_symbol, is_vt_symbol, split_vt_symbol
from terminal.risk import limits


@pytest.mark.parametrize(("text", "expected"), [
    ("rb2701.SHFE", ("rb2701", Exchange.SHFE)),
    (" rb2701.shfe ", ("rb2701", Exchange.SHFE)),
    ("SR701.CZCE", ("SR701", Exchange.CZCE)),
    ("IF2701.cffex", ("IF2701", Exchange.CFFEX)),
    ("a.b.DCE", ("a.b", Exchange.DCE)),
])
def test_the_exchange_is_matched_without_regard_to_case_and_the_symbol_kept(text, expected):
    assert split_vt_symbol(text) == expected
    assert is_vt_symbol(text)


@pytest.mark.parametrize("text", ["", "rb2701", "rb2701.", ".SHFE", "rb2701.NOPE", "rb 2701 .SHFE",
                                  None, 42])
def test_anything_else_is_refused_naming_the_text(text):
    with pytest.raises(BadSymbol, match=r"is not SYMBOL\.EXCHANGE") as caught:
        split_vt_symbol(text)
    assert repr(text) in str(caught.value)
    assert not is_vt_symbol(text) if isinstance(text, str) else True


def test_canonical_form_is_how_vnpy_writes_it():
    assert canonical_vt_symbol(" rb2701.shfe") == "rb2701.SHFE"


def test_risk_limits_for_a_symbol_written_another_way_are_not_silently_dropped(tmp_path):
    """risk.json's limits are found by the orders' exact vt_symbol: a key written in lower
    case would never apply, so the file cannot be trusted as written (fail closed)."""
    path = tmp_path / "risk.json"
    path.write_text(json.dumps({"symbols": {"rb2701.shfe": {"max_order_volume": 1}}}))
    loaded = limits.load(path, expected=True)
    assert "symbols.rb2701.shfe" in loaded.unusable and "write it rb2701.SHFE" in loaded.unusable
    assert loaded.config.state == limits.TradingState.REDUCE_ONLY
