"""Order facts that more than one layer relies on.

`TRADER_CLOSE` is the reference the terminal's own Flatten and Close actions put on their
orders (`terminal.market.trading`). The risk gate lets such an order through while trading is
HALTED when it closes no more than the position free to close: a halted trader can still get
flat with one action. Any sender could write the same reference, but the gate still lets it
only reduce a position, so it cannot be used to open one.
"""

TRADER_CLOSE = "trader close"
