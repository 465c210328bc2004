"""The first sync of 100 000 records, several times, beside sqlite-utils in the same sitting: the
one ingest figure whose single sample in ``python -m bench`` moves by 5–8 % with the machine.

    .venv/bin/python -m bench.sync_rounds [ROUNDS] [HUB_SETTING=value …]

Each round syncs the bench's feed into a fresh SQLite database in a child process, as the bench
does (``bench.ingest.hub_sync``); the settings given are passed to it (e.g.
``HUB_SYNC_WORKER_AFTER=off``). Prints each round, the median and the ratio to sqlite-utils'
fastest and slowest of two rounds.
"""

import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench import ingest
from bench.servers import Servers

RECORDS = 100_000


def main(argv):
    rounds = int(argv[0]) if argv else 3
    settings = dict(arg.split("=", 1) for arg in argv[1:])
    workdir = Path(tempfile.mkdtemp(prefix="hub-sync-rounds-"))
    servers = Servers(workdir)
    target = None
    try:
        feed = ingest.feed_file(RECORDS)
        target = ingest.SyncTarget(workdir, servers.feed(str(feed.parent)))
        env = {"HUB_SECRET_KEY": os.urandom(32).hex(), "HUB_FETCH_ALLOW": "127.0.0.0/8"}
        walls = []
        for number in range(rounds):
            url, ids = target.fresh(f"round{number}")
            result = ingest.hub_sync(url, ids[RECORDS], {**env, **settings})
            target.drop(url)
            walls.append(result["wall_s"])
            print(
                f"round {number + 1}: {result['wall_s']:.2f} s (the run {result['run_s']:.2f} s),"
                f" peak {result['max_rss_mb']:.0f} MB",
                flush=True,
            )
        peer = [ingest.sqlite_utils_insert(feed, workdir, f"peer{n}")["wall_s"] for n in range(2)]
        median = statistics.median(walls)
        print(
            f"median {median:.2f} s = {RECORDS / median:,.0f} rec/s; sqlite-utils "
            f"{min(peer):.2f}–{max(peer):.2f} s: {min(peer) / median:.3f}–"
            f"{max(peer) / median:.3f} × (target ≥ 0.5 ×)"
        )
    finally:
        if target is not None:
            target.close()
        servers.close()


if __name__ == "__main__":
    main(sys.argv[1:])
