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


@hookimpl
def connex_commands():
    return {"connect": ("connect Connex to a QuickBooks Online company (Intuit's authorization, once)",
                        "connex_quickbooks_online.connect_command")}
