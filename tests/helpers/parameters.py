"""Parameter texts every caller of the one parser refuses with the same words (the command
line's --param, the workbench's form, the Strategies dock's dialog), on the shipped
MacdTrendStrategy (bar_minutes: int = 5, trailing_stop: bool = True)."""

REFUSED = [
    ("bar_minutes", "1.0", "bar_minutes: '1.0' is not a whole number (the default is 5)"),
    ("trailing_stop", "", ("trailing_stop: '' is not true or false (true/false, yes/no, on/off "
                           "or 1/0; the default is True)")),
    ("trailing_stop", "maybe", ("trailing_stop: 'maybe' is not true or false (true/false, "
                                "yes/no, on/off or 1/0; the default is True)")),
]
