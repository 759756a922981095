"""The web console (docs/console.md): overview, failures, one document's story and the fixes, over HTTP(S).

Off unless the configuration has a ``console:`` block. Its modules: ``settings`` (the block), ``passwords``
(scrypt hashes), ``ratelimit`` (sign-in attempts), ``queries`` (every read of the state file), ``failures``
(grouping), ``chart``, ``actions`` (what an operator does, recorded in the ledger's history), ``runner`` (passes
asked for from the console), ``app`` (the Starlette pages) and ``server`` (uvicorn, with TLS).
"""

from __future__ import annotations


def start_console(daemon):
    """The daemon's console over every connection it serves, started; None when the configuration has none. The
    web stack is imported only then."""
    configs = [worker.config for worker in daemon.workers.values()]
    if not any(config.console for config in configs):
        return None
    from connex.console.runner import DaemonRunner
    from connex.console.server import ConsoleServer

    if len(configs) == 1:
        server = ConsoleServer(configs[0], daemon.plugins, DaemonRunner(daemon)).start()
    else:
        runners = {name: DaemonRunner(daemon, name) for name in daemon.workers}
        server = ConsoleServer(configs, daemon.plugins, runners).start()
    print(f"connex console on {server.url}", flush=True)
    return server
