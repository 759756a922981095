"""Connex Linnworks plugin: the ``linnworks`` source connector and its simulator."""

from connex import hookimpl


@hookimpl
def connex_sources():
    from connex_linnworks.connector import LinnworksSource

    return {"linnworks": LinnworksSource}


@hookimpl
def connex_simulators():
    from connex_linnworks.simulator import LinnworksSimulator

    return {"linnworks": LinnworksSimulator}
