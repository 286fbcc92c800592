"""Specifications of the China futures the simulated exchange lists.

Multipliers, price ticks and trading hours are the exchanges' own; margin rates and fees are
typical broker figures (exchange minimum plus a few points) as of 2025-2026. Sessions are listed
in trading-day order: the night session first, because it belongs to the next trading day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import time

from vnpy.trader.constant import Exchange

Session = tuple[time, time]


def _sessions(*spans: str) -> tuple[Session, ...]:
    out = []
    for span in spans:
        start, end = span.split("-")
        out.append((time.fromisoformat(start), time.fromisoformat(end)))
    return tuple(out)


DAY_COMMODITY = ("09:00-10:15", "10:30-11:30", "13:30-15:00")
NIGHT_2300 = _sessions("21:00-23:00", *DAY_COMMODITY)
NIGHT_0100 = _sessions("21:00-01:00", *DAY_COMMODITY)
NIGHT_0230 = _sessions("21:00-02:30", *DAY_COMMODITY)
DAY_ONLY = _sessions(*DAY_COMMODITY)
CFFEX_INDEX = _sessions("09:30-11:30", "13:00-15:00")
CFFEX_BOND = _sessions("09:30-11:30", "13:00-15:15")


@dataclass(frozen=True)
class ContractSpec:
    product: str             # product code, e.g. "rb"
    symbol: str              # listed contract, e.g. "rb2701"
    exchange: Exchange
    name: str
    size: float              # contract multiplier (units per lot)
    pricetick: float
    margin_rate: float       # share of notional held as margin, per side
    fee_rate: float          # commission as a share of turnover
    fee_per_lot: float       # commission per lot, CNY
    limit_pct: float         # daily price limit around the previous settlement
    sessions: tuple[Session, ...]
    base_price: float        # where the simulated market starts
    max_volume: int = 1000   # largest order the exchange accepts

    @property
    def vt_symbol(self) -> str:
        return f"{self.symbol}.{self.exchange.value}"

    def commission(self, price: float, volume: float) -> float:
        return price * volume * self.size * self.fee_rate + volume * self.fee_per_lot

    def margin(self, price: float, volume: float) -> float:
        return price * volume * self.size * self.margin_rate


SHFE, DCE, CZCE, CFFEX, INE = (Exchange.SHFE, Exchange.DCE, Exchange.CZCE, Exchange.CFFEX,
                               Exchange.INE)

SPECS: tuple[ContractSpec, ...] = (
    ContractSpec("rb", "rb2701", SHFE, "Rebar", 10, 1, 0.10, 0.0001, 0, 0.07, NIGHT_2300, 3250),
    ContractSpec("hc", "hc2701", SHFE, "Hot-rolled coil", 10, 1, 0.10, 0.0001, 0, 0.07,
                 NIGHT_2300, 3400),
    ContractSpec("au", "au2702", SHFE, "Gold", 1000, 0.02, 0.12, 0, 10, 0.10, NIGHT_0230, 780),
    ContractSpec("ag", "ag2702", SHFE, "Silver", 15, 1, 0.13, 0.00005, 0, 0.11, NIGHT_0230, 9200),
    ContractSpec("cu", "cu2701", SHFE, "Copper", 5, 10, 0.10, 0.00005, 0, 0.07, NIGHT_0100, 79000),
    ContractSpec("al", "al2701", SHFE, "Aluminium", 5, 5, 0.10, 0, 3, 0.07, NIGHT_0100, 20500),
    ContractSpec("zn", "zn2701", SHFE, "Zinc", 5, 5, 0.10, 0, 3, 0.07, NIGHT_0100, 22800),
    ContractSpec("ni", "ni2701", SHFE, "Nickel", 1, 10, 0.12, 0, 3, 0.10, NIGHT_0100, 122000),
    ContractSpec("sc", "sc2701", INE, "Crude oil", 1000, 0.1, 0.12, 0, 20, 0.08, NIGHT_0230, 510),
    ContractSpec("IF", "IF2612", CFFEX, "CSI 300 index", 300, 0.2, 0.12, 0.000023, 0, 0.10,
                 CFFEX_INDEX, 4100, max_volume=20),
    ContractSpec("IH", "IH2612", CFFEX, "SSE 50 index", 300, 0.2, 0.12, 0.000023, 0, 0.10,
                 CFFEX_INDEX, 2800, max_volume=20),
    ContractSpec("IC", "IC2612", CFFEX, "CSI 500 index", 200, 0.2, 0.12, 0.000023, 0, 0.10,
                 CFFEX_INDEX, 6300, max_volume=20),
    ContractSpec("IM", "IM2612", CFFEX, "CSI 1000 index", 200, 0.2, 0.12, 0.000023, 0, 0.10,
                 CFFEX_INDEX, 6600, max_volume=20),
    ContractSpec("T", "T2703", CFFEX, "10-year treasury bond", 10000, 0.005, 0.03, 0, 3, 0.02,
                 CFFEX_BOND, 108.5, max_volume=50),
    ContractSpec("m", "m2705", DCE, "Soybean meal", 10, 1, 0.08, 0, 1.5, 0.07, NIGHT_2300, 2950),
    ContractSpec("i", "i2705", DCE, "Iron ore", 100, 0.5, 0.13, 0.0001, 0, 0.11, NIGHT_2300, 780),
    ContractSpec("y", "y2705", DCE, "Soybean oil", 10, 2, 0.08, 0, 2.5, 0.07, NIGHT_2300, 8100),
    ContractSpec("p", "p2705", DCE, "Palm oil", 10, 2, 0.10, 0, 2.5, 0.08, NIGHT_2300, 8900),
    ContractSpec("c", "c2705", DCE, "Corn", 10, 1, 0.08, 0, 1.2, 0.06, DAY_ONLY, 2250),
    ContractSpec("SR", "SR705", CZCE, "White sugar", 10, 1, 0.08, 0, 3, 0.07, NIGHT_2300, 5700),
    ContractSpec("TA", "TA705", CZCE, "PTA", 5, 2, 0.08, 0, 3, 0.07, NIGHT_2300, 4700),
    ContractSpec("MA", "MA705", CZCE, "Methanol", 10, 1, 0.09, 0, 2, 0.08, NIGHT_2300, 2500),
    ContractSpec("CF", "CF705", CZCE, "Cotton", 5, 5, 0.08, 0, 4.3, 0.07, NIGHT_2300, 14200),
    ContractSpec("RM", "RM705", CZCE, "Rapeseed meal", 10, 1, 0.09, 0, 1.5, 0.08, NIGHT_2300,
                 2400),
)

BY_VT_SYMBOL: dict[str, ContractSpec] = {spec.vt_symbol: spec for spec in SPECS}


def find(vt_symbol: str) -> ContractSpec | None:
    return BY_VT_SYMBOL.get(vt_symbol)


def spec_for(symbol: str, exchange: Exchange, price: float) -> ContractSpec:
    """The specification of any listed contract of a known product (rb2401 trades like
    rb2701), for replaying past contracts; `price` seeds where its market starts."""
    listed = BY_VT_SYMBOL.get(f"{symbol}.{exchange.value}")
    if listed is not None:
        return listed
    product = symbol.rstrip("0123456789")
    for spec in SPECS:
        if spec.exchange == exchange and spec.product == product:
            return replace(spec, symbol=symbol, base_price=price)
    raise KeyError(f"no specification for {symbol}.{exchange.value}: the product "
                   f"{product!r} is not one the simulated exchange knows")
