"""The first sync of 100 000 records, several times, each round followed by one of sqlite-utils
(the machine's speed drifts within a sitting): a sample of either moves by 5–8 %.

    .venv/bin/python -m bench.sync_rounds [ROUNDS] [HUB_SETTING=value …]

Each round syncs the bench's feed into a fresh SQLite database in a child process, as the bench
does (``bench.ingest.hub_sync``); the settings given are passed to it (e.g.
``HUB_SYNC_WORKER_AFTER=off``). Prints each round with its ratio, then the medians' ratio, as
``python -m bench`` figures it.
"""

import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench import ingest
from bench.run import ensure_bytecode
from bench.servers import Servers

RECORDS = 100_000


def main(argv):
    rounds = int(argv[0]) if argv else 3
    ensure_bytecode()
    settings = dict(arg.split("=", 1) for arg in argv[1:])
    workdir = Path(tempfile.mkdtemp(prefix="hub-sync-rounds-"))
    servers = Servers(workdir)
    target = None
    try:
        feed = ingest.feed_file(RECORDS)
        target = ingest.SyncTarget(workdir, servers.feed(str(feed.parent)))
        env = {"HUB_SECRET_KEY": os.urandom(32).hex(), "HUB_FETCH_ALLOW": "127.0.0.0/8"}
        walls, peer = [], []
        for number in range(rounds):
            url, ids = target.fresh(f"round{number}")
            result = ingest.hub_sync(url, ids[RECORDS], {**env, **settings})
            target.drop(url)
            walls.append(result["wall_s"])
            peer.append(ingest.sqlite_utils_insert(feed, workdir, f"peer{number}")["wall_s"])
            print(
                f"round {number + 1}: {result['wall_s']:.2f} s (the run {result['run_s']:.2f} s),"
                f" peak {result['max_rss_mb']:.0f} MB; sqlite-utils {peer[-1]:.2f} s:"
                f" {peer[-1] / walls[-1]:.3f} ×",
                flush=True,
            )
        median, peer_median = statistics.median(walls), statistics.median(peer)
        print(
            f"median {median:.2f} s = {RECORDS / median:,.0f} rec/s; sqlite-utils median "
            f"{peer_median:.2f} s: {peer_median / median:.3f} × (target ≥ 0.5 ×)"
        )
    finally:
        if target is not None:
            target.close()
        servers.close()


if __name__ == "__main__":
    main(sys.argv[1:])
