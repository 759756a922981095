"""`connex console`: the web console on its own (the daemon serves it too); `connex console passwd`: a hash.

Without the daemon the console has no schedule: it shows the ledger and runs the passes a person asks for.
"""

from __future__ import annotations

import getpass
import sys

from connex.errors import ConfigError


def add_arguments(parser):
    parser.add_argument("action", nargs="?", choices=["serve", "passwd"], default="serve",
                        help="serve (the default): run the console; passwd: print a password hash for console.users")
    parser.add_argument("--listen", metavar="HOST:PORT", help="instead of console.listen (':PORT' means 127.0.0.1)")
    parser.add_argument("--password-stdin", action="store_true",
                        help="passwd: read the password from standard input instead of asking twice")


def passwd(args) -> int:
    from connex.console.passwords import hash_password

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise ConfigError("the two passwords differ")
    if len(password) < 8:
        raise ConfigError("a console password needs at least 8 characters")
    print(hash_password(password))
    return 0


def run(args):
    if args.action == "passwd":
        return passwd(args)
    from connex.commands._setup import selected
    from connex.console.runner import LocalRunner
    from connex.console.server import ConsoleServer
    from connex.console.settings import ConsoleSettings
    from connex.logs import setup_logging
    from connex.plugin_manager import get_plugins

    plugins = get_plugins()
    _, configs = selected(args, plugins)  # every connection of the deployment, or those --connection names
    config = configs[0]
    if not config.console:
        raise ConfigError("the console is off: add a console: block with users to the configuration "
                          "(docs/console.md; `connex console passwd` makes a password hash)")
    setup_logging(config.log_level, config.log_format, set().union(*(c.secrets for c in configs)))
    settings = ConsoleSettings.from_config(config, args.listen)
    if len(configs) == 1:
        server = ConsoleServer(config, plugins, LocalRunner(config, plugins), settings)
    else:
        server = ConsoleServer(configs, plugins, {c.name: LocalRunner(c, plugins) for c in configs}, settings)
    print(f"connex console on {settings.scheme}://{settings.host}:{settings.port} (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.app.state.console.close()
    return 0
