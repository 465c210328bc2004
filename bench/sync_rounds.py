"""The first sync of 100 000 records, several times, each round followed by one of sqlite-utils
(the machine's speed drifts within a sitting): a sample of either moves by 5–8 %.

    .venv/bin/python -m bench.sync_rounds [ROUNDS] [--against TREE] [HUB_SETTING=value …]

Each round syncs the bench's feed into a fresh SQLite database in a child process, as the bench
does (``bench.ingest.hub_sync``); the settings given are passed to it (e.g.
``HUB_SYNC_WORKER_AFTER=off``). Prints each round with its ratio and the CPU time the sync took
(its process, and its worker), then the medians: on a shared machine the CPU time moves less
than the wall time.

``--against TREE``: each round also syncs with the hub of another checkout (a worktree of
another commit, with its own ``.venv``; its ``bench/sync_child.py`` is run, so give it this
one's to have its CPU time), the two in turns, for an A/B comparison.
"""

import os
import statistics
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from bench import ingest
from bench.run import ensure_bytecode
from bench.servers import Servers

RECORDS = 100_000


@contextmanager
def _tree(root):
    """``bench.ingest``'s children run in ``root`` (None: this checkout)."""
    if root is None:
        yield
        return
    saved = ingest.ROOT
    ingest.ROOT = root
    try:
        yield
    finally:
        ingest.ROOT = saved


def _sync(target, number, label, env, root):
    url, ids = target.fresh(f"round{number}{label}")
    with _tree(root):
        result = ingest.hub_sync(url, ids[RECORDS], env)
    target.drop(url)
    return result


def _line(result):
    cpu = result.get("cpu_main_s")
    said = f"{result['wall_s']:.2f} s (the run {result['run_s']:.2f} s)"
    if cpu is not None:
        said += f", CPU {cpu:.2f} s + worker {result['cpu_worker_s']:.2f} s"
    return f"{said}, peak {result['max_rss_mb']:.0f} MB"


def _median(results, key):
    values = [r[key] for r in results if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def main(argv):
    argv = list(argv)
    against = None
    if "--against" in argv:
        at = argv.index("--against")
        against = Path(argv[at + 1]).resolve()
        del argv[at : at + 2]
    rounds = int(argv[0]) if argv and "=" not in argv[0] else 3
    ensure_bytecode()
    settings = dict(arg.split("=", 1) for arg in argv if "=" in arg)
    workdir = Path(tempfile.mkdtemp(prefix="hub-sync-rounds-"))
    servers = Servers(workdir)
    target = None
    trees = {"this": None} if against is None else {"this": None, "other": against}
    try:
        feed = ingest.feed_file(RECORDS)
        target = ingest.SyncTarget(workdir, servers.feed(str(feed.parent)))
        env = {"HUB_SECRET_KEY": os.urandom(32).hex(), "HUB_FETCH_ALLOW": "127.0.0.0/8"}
        results = {label: [] for label in trees}
        peer = []
        for number in range(rounds):
            order = list(trees) if number % 2 == 0 else list(reversed(trees))
            for label in order:
                results[label].append(
                    _sync(target, number, label, {**env, **settings}, trees[label])
                )
            peer.append(ingest.sqlite_utils_insert(feed, workdir, f"peer{number}")["wall_s"])
            for label in trees:
                result = results[label][-1]
                print(
                    f"round {number + 1} {label}: {_line(result)};"
                    f" sqlite-utils {peer[-1]:.2f} s: {peer[-1] / result['wall_s']:.3f} ×",
                    flush=True,
                )
        peer_median = statistics.median(peer)
        for label in trees:
            median = _median(results[label], "wall_s")
            print(
                f"{label}: median {median:.2f} s = {RECORDS / median:,.0f} rec/s, CPU"
                f" {_median(results[label], 'cpu_main_s'):.2f} s + worker"
                f" {_median(results[label], 'cpu_worker_s'):.2f} s, peak"
                f" {_median(results[label], 'max_rss_mb'):.0f} MB; sqlite-utils median"
                f" {peer_median:.2f} s: {peer_median / median:.3f} × (target ≥ 0.5 ×)"
            )
    finally:
        if target is not None:
            target.close()
        servers.close()


if __name__ == "__main__":
    main(sys.argv[1:])
