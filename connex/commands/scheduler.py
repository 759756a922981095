"""`connex scheduler`: queue every connection's scheduled passes (for workers started with --no-schedule), or with
--now queue one pass of each selected connection at once and exit."""

from connex.commands._setup import selected
from connex.logs import setup_logging
from connex.plugin_manager import get_plugins
from connex.workers.service import SchedulerService


def add_arguments(parser):
    parser.add_argument("--now", action="store_true",
                        help="queue a pass of each connection now and exit (one already queued is not queued twice)")


def run(args):
    plugins = get_plugins()
    deployment, configs = selected(args, plugins)
    setup_logging(deployment.log_level, deployment.log_format, deployment.secrets)
    service = SchedulerService(configs)
    if not args.now:
        return service.run()
    for name, job_id in service.queue_now().items():
        print(f"{name}: queued (job {job_id})" if job_id else f"{name}: a pass is already queued; not queued again")
    return 0
