"""Link groups without windows: a symbol announced by one member reaches the others of its
group and no one else, never echoes back, and one failing member does not stop the rest."""

from __future__ import annotations

import pytest

from terminal.core.link_groups import GROUPS, NONE, LinkError, LinkGroups
from terminal.core.symbols import BadSymbol


class Member:
    """A window: shows what it is given, and announces it again (its symbol box changed),
    as the real docks do."""

    def __init__(self, groups: LinkGroups, name: str) -> None:
        self.groups, self.name, self.shown, self.given = groups, name, "", 0
        groups.add(name, self.receive)

    def receive(self, vt_symbol: str) -> None:
        self.given += 1
        self.shown = vt_symbol
        self.groups.announce(self.name, vt_symbol)        # the echo the model must ignore


def make(*names: str) -> tuple[LinkGroups, dict[str, Member]]:
    groups = LinkGroups()
    return groups, {name: Member(groups, name) for name in names}


def test_a_symbol_reaches_its_group_only_and_once():
    groups, m = make("watch", "ticket", "chart_1", "chart_2", "chart_3")
    for name in ("watch", "ticket", "chart_1", "chart_2"):
        groups.join(name, "red")
    groups.join("chart_3", "blue")
    assert groups.announce("watch", "rb2701.shfe") == ["ticket", "chart_1", "chart_2"]
    assert [m[n].shown for n in ("ticket", "chart_1", "chart_2")] == ["rb2701.SHFE"] * 3
    assert m["chart_3"].shown == "" and m["watch"].given == 0
    assert [m[n].given for n in ("ticket", "chart_1", "chart_2")] == [1, 1, 1]
    # The group shares it already: announcing it again hands nothing round.
    assert groups.announce("chart_1", "rb2701.SHFE") == []
    assert groups.shared("red") == "rb2701.SHFE" and groups.shared("blue") == ""
    # A member in no group keeps its own symbol, and its choice goes nowhere.
    groups.join("chart_2", NONE)
    assert groups.announce("chart_2", "cu2701.SHFE") == []
    assert groups.announce("ticket", "cu2701.SHFE") == ["watch", "chart_1"]
    assert m["chart_2"].shown == "rb2701.SHFE" and m["chart_3"].shown == ""


def test_joining_a_group_takes_its_symbol_unless_restoring():
    groups, m = make("a", "b", "c")
    groups.join("a", "green")
    groups.announce("a", "m2705.DCE")
    groups.join("b", "green")
    assert m["b"].shown == "m2705.DCE" and m["a"].given == 0
    groups.join("c", "green", adopt=False)
    assert m["c"].shown == ""
    groups.forget_shared()
    groups.join("c", NONE)
    groups.join("c", "green")
    assert m["c"].shown == ""


def test_a_failing_member_is_skipped_and_the_rest_still_get_the_symbol(caplog):
    groups, m = make("a", "c")

    def broken(vt_symbol: str) -> None:
        raise RuntimeError("window gone")

    groups.add("b", broken)
    for name in "abc":
        groups.join(name, "yellow")
    assert groups.announce("a", "IF2701.CFFEX") == ["c"]
    assert m["c"].shown == "IF2701.CFFEX"
    assert "b could not show IF2701.CFFEX" in caplog.text


def test_groups_are_checked_and_watched_and_removal_leaves_the_group():
    groups, _ = make("a", "b")
    seen = []
    groups.watch(lambda member, group: seen.append((member, group)))
    with pytest.raises(LinkError, match="'pink' is not a link group"):
        groups.join("a", "pink")
    with pytest.raises(BadSymbol):
        groups.announce("a", "rb2701")
    groups.join("a", "purple")
    groups.join("a", "purple")              # no change: not told again
    groups.join("b", "purple")
    groups.remove("b")
    assert seen == [("a", "purple"), ("b", "purple"), ("b", NONE)]
    assert groups.members("purple") == ["a"] and groups.assignments() == {"a": "purple"}
    assert groups.announce("a", "rb2701.SHFE") == []
    # A member put in a group before it is built (a saved layout) gets symbols once added.
    groups.join("ladder", "purple")
    received = []
    groups.add("ladder", received.append)
    groups.announce("a", "cu2701.SHFE")
    assert received == ["cu2701.SHFE"]
    assert len(GROUPS) == 5


def test_a_member_answering_with_another_symbol_is_not_handed_round():
    """A window given a symbol that shows something else instead (it cannot show that one)
    and says so is ignored while the symbol goes round: no ping-pong between members."""
    groups, m = make("a", "c")
    answers = []

    def stubborn(vt_symbol: str) -> None:
        answers.append(groups.announce("b", "hc2701.SHFE"))

    groups.add("b", stubborn)
    for name in "abc":
        groups.join(name, "blue")
    assert groups.announce("a", "rb2701.SHFE") == ["b", "c"]
    assert answers == [[]] and m["c"].shown == "rb2701.SHFE" and m["a"].given == 0
