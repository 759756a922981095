"""`connex worker`: run passes from the job queue in the PostgreSQL state database until SIGTERM or SIGINT."""

import faulthandler
import signal

from connex.commands._setup import selected
from connex.daemon.health import listen_argument
from connex.logs import setup_logging
from connex.plugin_manager import get_plugins
from connex.workers.service import DEFAULT_CONCURRENCY, DEFAULT_HEARTBEAT, DEFAULT_STALLED_AFTER, WorkerService


def add_arguments(parser):
    parser.add_argument("--concurrency", type=int, metavar="N", choices=range(1, 65),
                        help=f"passes this worker runs at once (workers.concurrency, default {DEFAULT_CONCURRENCY})")
    parser.add_argument("--health", metavar="HOST:PORT", type=listen_argument,
                        help="serve /healthz and /status there (workers.health); ':PORT' means 127.0.0.1:PORT")
    parser.add_argument("--no-schedule", action="store_true",
                        help="do not defer scheduled passes (workers.schedule: false): `connex scheduler` does it")


def run(args):
    # `kill -USR1 PID` writes every thread's stack to stderr: what a stuck worker is waiting for, without stopping it
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    plugins = get_plugins()
    deployment, configs = selected(args, plugins)
    settings = deployment.workers
    setup_logging(deployment.log_level, deployment.log_format, deployment.secrets)
    return WorkerService(
        configs, plugins, concurrency=args.concurrency or settings.get("concurrency", DEFAULT_CONCURRENCY),
        health_listen=args.health or settings.get("health"),
        schedule=not args.no_schedule and settings.get("schedule", True),
        heartbeat=settings.get("heartbeat_seconds", DEFAULT_HEARTBEAT),
        stalled_after=settings.get("stalled_after_seconds", DEFAULT_STALLED_AFTER),
    ).run()
