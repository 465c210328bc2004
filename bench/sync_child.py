"""One ``hub sync SOURCE_ID`` in a process of its own, as the CLI runs it (under the source's
lease), for the ingest figures: prints one JSON line with the run's status, counts, the time
the run itself took and the CPU time this process and its worker used (the parent measures the
wall time and the peak resident memory).

    HUB_DATABASE_URL=… HUB_SECRET_KEY=… HUB_FETCH_ALLOW=127.0.0.0/8 \
        python -m bench.sync_child SOURCE_ID
"""

import json
import os
import resource
import sys
import time


def _cpu(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main():
    source_id = int(sys.argv[1])
    from hub import create_app
    from hub.extensions import db
    from hub.sync.models import SyncRun
    from hub.sync.scheduler import run_if_free

    app = create_app()
    with app.app_context():
        started = time.perf_counter()
        run = run_if_free(source_id, "cli:bench", paused_too=True)
        seconds = time.perf_counter() - started
        report = {"run_s": seconds, "status": run.status if run else "busy", "error": None}
        if run is not None:
            report["error"] = run.error
            report.update({name: getattr(run, name) for name in SyncRun.COUNTS})
        db.session.remove()
    # The worker has been told to stop: once it has exited, its CPU time counts as this
    # process's children's (whoever of this process reaps it).
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    report["cpu_main_s"] = _cpu(resource.RUSAGE_SELF)
    report["cpu_worker_s"] = _cpu(resource.RUSAGE_CHILDREN)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
