"""One module per CLI command, each with ``add_arguments(parser)`` and ``run(args) -> exit code``.

Plugins add their own commands through the ``connex_commands`` hook (see connex/hookspecs.py); the names below
are the core's and a plugin cannot take them."""

# command name -> (help text, module offering add_arguments and run)
CORE_COMMANDS = {
    "validate": ("check the configuration, rules and mappings; every problem as file:line:col",
                 "connex.commands.validate"),
    "check": ("read-only preflight: does the target have every name the config, rules and recent orders need",
              "connex.commands.check"),
    "sync": ("run the enabled flows once", "connex.commands.sync"),
    "daemon": ("run the flows on sync.schedule until stopped", "connex.commands.daemon"),
    "plugins": ("list plugins, their versions, hooks and load errors", "connex.commands.plugins"),
    "explain": ("show how one order, PO or refund maps, which rules fired, and its ledger state",
                "connex.commands.explain"),
    "test": ("run rule fixtures (input record and expected mapped output)", "connex.commands.test"),
    "status": ("counts per flow, last runs and failures", "connex.commands.status"),
    "forget": ("let a document deleted in QuickBooks be posted again (asks first)", "connex.commands.forget"),
    "demo": ("sync the built-in simulators end to end and print a summary", "connex.commands.demo"),
    "console": ("the web console on its own (the daemon serves it too); `console passwd` makes a password hash",
                "connex.commands.console"),
    "state": ("copy connections' state between databases (SQLite file <-> PostgreSQL): `state copy --to URL`",
              "connex.commands.state"),
    # issue 18: passes as jobs in PostgreSQL (connex/workers)
    "worker": ("run passes from the job queue in the PostgreSQL state (scale-out; --concurrency N)",
               "connex.commands.worker"),
    "scheduler": ("queue every connection's scheduled passes for the workers; --now queues one pass now",
                  "connex.commands.scheduler"),
}
