"""The Linnworks simulator shipped with the plugin (tests, ``connex demo``, and users trying Connex out)."""

from connex_linnworks.simulator.server import LinnworksSimulator

__all__ = ["LinnworksSimulator"]
