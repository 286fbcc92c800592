"""The built-in simulated exchange: a vn.py gateway that needs no account."""

from terminal.gateways.sim.gateway import SimGateway

__all__ = ["SimGateway"]
