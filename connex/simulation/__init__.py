"""Building blocks for the simulators that plugins ship (see ``connex_simulators`` in ``connex.hookspecs``)."""

from connex.simulation.server import Request, Response, SimClock, SimulatorServer

__all__ = ["Request", "Response", "SimClock", "SimulatorServer"]
