"""`connex daemon`: run the enabled flows on sync.schedule until SIGTERM or SIGINT."""

from connex.config import load_config
from connex.daemon.health import listen_argument, parse_listen
from connex.daemon.service import Daemon
from connex.logs import setup_logging
from connex.plugin_manager import get_plugins


def add_arguments(parser):
    parser.add_argument(
        "--health", metavar="HOST:PORT", type=listen_argument,
        help="where /healthz and /status listen (daemon.health); ':PORT' means 127.0.0.1:PORT",
    )


def run(args):
    plugins = get_plugins()
    config = load_config(args.config, plugins)
    if args.health:
        config.health_listen = args.health
    else:  # the schema's pattern lets a port over 65535 through: say so with the file, line and column
        try:
            parse_listen(config.health_listen)
        except ValueError as exc:
            raise config.file.error(("daemon", "health"), str(exc)) from None
    setup_logging(config.log_level, config.log_format, config.secrets)
    return Daemon(config, plugins).run()
