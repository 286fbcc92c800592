"""English labels for vn.py's enums (their values follow the system locale, often Chinese)."""

from vnpy.trader.constant import Direction, Offset, OrderType, Status

DIRECTION = {Direction.LONG: "Long", Direction.SHORT: "Short", Direction.NET: "Net"}
OFFSET = {
    Offset.NONE: "",
    Offset.OPEN: "Open",
    Offset.CLOSE: "Close",
    Offset.CLOSETODAY: "Close today",
    Offset.CLOSEYESTERDAY: "Close yesterday",
}
ORDER_TYPE = {
    OrderType.LIMIT: "Limit",
    OrderType.MARKET: "Market",
    OrderType.STOP: "Stop",
    OrderType.FAK: "FAK",
    OrderType.FOK: "FOK",
    OrderType.RFQ: "RFQ",
    OrderType.ETF: "ETF",
}
STATUS = {
    Status.SUBMITTING: "Submitting",
    Status.NOTTRADED: "Working",
    Status.PARTTRADED: "Part filled",
    Status.ALLTRADED: "Filled",
    Status.CANCELLED: "Cancelled",
    Status.REJECTED: "Rejected",
}


def label(table: dict, value) -> str:
    if value is None:
        return ""
    return table.get(value, str(getattr(value, "value", value)))
