"""`connex daemon`: run every connection's enabled flows on its sync.schedule until SIGTERM or SIGINT."""

from connex.commands._setup import selected
from connex.daemon.health import listen_argument, parse_listen
from connex.daemon.service import Daemon
from connex.logs import setup_logging
from connex.plugin_manager import get_plugins


def add_arguments(parser):
    parser.add_argument(
        "--health", metavar="HOST:PORT", type=listen_argument,
        help="where /healthz and /status listen (daemon.health); ':PORT' means 127.0.0.1:PORT",
    )
    parser.add_argument(
        "--max-parallel", type=int, metavar="N", choices=range(1, 65),
        help="connections synced at once (daemon.max_parallel, default 4)",
    )


def run(args):
    plugins = get_plugins()
    deployment, configs = selected(args, plugins)
    listen = args.health or deployment.health_listen
    if not args.health:  # the schema's pattern lets a port over 65535 through: say so with the file, line and column
        try:
            parse_listen(listen)
        except ValueError as exc:
            main_file = configs[0].file if deployment.folder is None else _main_file(deployment.path)
            raise main_file.error(("daemon", "health"), str(exc)) from None
    setup_logging(deployment.log_level, deployment.log_format, deployment.secrets)
    return Daemon(configs, plugins, max_parallel=args.max_parallel or deployment.max_parallel,
                  health_listen=listen).run()


def _main_file(path):
    from connex.config import read_config_file

    return read_config_file(path)
