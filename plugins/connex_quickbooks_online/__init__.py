"""Connex QuickBooks Online plugin: the ``quickbooks_online`` target connector and its simulator."""

from connex import hookimpl


@hookimpl
def connex_targets():
    from connex_quickbooks_online.connector import QuickBooksOnlineTarget

    return {"quickbooks_online": QuickBooksOnlineTarget}


@hookimpl
def connex_simulators():
    from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

    return {"quickbooks_online": QuickBooksOnlineSimulator}
