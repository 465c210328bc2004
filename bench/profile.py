"""Profiles of the benchmark's figures, to see what in ``hub/`` costs the time or the memory.

    .venv/bin/python -m bench.profile [TARGET …] [--requests N] [--records N]

Targets (all by default except the slow ``sync_memory``):

``api``, ``api_country``, ``api_304``, ``country_page``, ``products_page``, ``search_vi``,
``search_en``, ``search_ja``, ``changes``
    the request of that figure, ``--requests`` times through Flask's test client (no gunicorn,
    no network) on a copy of the cached data set, under pyinstrument.
``sync``, ``resync``
    a first sync of ``--records`` records of the partner feed (default 5 000) into a fresh
    database, then the unchanged re-sync, in this process under pyinstrument.
``sync_memory``
    the first sync and the re-sync of ``--records`` records under tracemalloc: the peak of
    Python allocations in each phase (fetch and parse, the batches, deleting what the
    partner no longer lists, saving the run).

Run ``python -m bench`` once first: it installs the tools and builds the data set.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from urllib.parse import quote

from bench import dataset, ingest
from bench.servers import Servers

HTTP_TARGETS = {
    "api": ("/api/v1/products?limit=50&lang=ja", None),
    "api_country": ("/api/v1/products?limit=50&lang=ja&country=TH", None),
    "api_304": ("/api/v1/products?limit=50&lang=ja", "etag"),
    "country_page": ("/ja/countries/VN", None),
    "products_page": ("/ja/products", None),
    "search_vi": ("/vi/search?q=" + quote("mật ong"), None),
    "search_en": ("/en/search?q=honey", None),
    "search_ja": ("/ja/search?q=" + quote("はちみつ"), None),
    "changes": ("/api/v1/changes?since=0&limit=1000", None),
}
SYNC_TARGETS = ("sync", "resync")
ALL = (*HTTP_TARGETS, *SYNC_TARGETS)


def _profiler():
    from pyinstrument import Profiler

    return Profiler(interval=0.0005)


def _print(title, profiler, seconds, count):
    print(f"\n=== {title}: {count} × in {seconds:.2f}s = {seconds / count * 1000:.1f} ms each ===")
    print(
        profiler.output_text(
            unicode=True,
            color=False,
            show_all=False,
            processor_options={"filter_threshold": 0.01},
        )
    )


def profile_http(names, requests, workdir):
    from hub import create_app

    copy = dataset.copy_sqlite(dataset.sqlite_dataset(), Path(workdir) / "profile.sqlite3")
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{copy}",
            "SECRET_KEY": os.urandom(32).hex(),
            "API_RATE_LIMIT": "100000000 per minute",
        }
    )
    client = app.test_client()
    for name in names:
        path, headers = HTTP_TARGETS[name]
        if headers == "etag":
            headers = {"If-None-Match": client.get(path).headers["ETag"]}
        first = client.get(path, headers=headers)
        print(f"\n{name}: GET {path} → {first.status_code}, {len(first.data)} bytes")
        profiler = _profiler()
        started = time.perf_counter()
        profiler.start()
        for _ in range(requests):
            client.get(path, headers=headers)
        profiler.stop()
        _print(name, profiler, time.perf_counter() - started, requests)


def _small_feed(records, workdir):
    source = ingest.feed_file(100_000 if records > 10_000 else 10_000)
    path = Path(workdir) / f"feed-{records}.csv"
    with source.open(encoding="utf-8") as f, path.open("w", encoding="utf-8") as out:
        for index, line in enumerate(f):
            if index > records:
                break
            out.write(line)
    return path


def _sync_app(workdir, records):
    """A fresh database with one CSV source of ``records`` records served on loopback."""
    from hub import create_app
    from hub.extensions import db
    from hub.sync.models import PartnerSource

    feed = _small_feed(records, workdir)
    servers = Servers(workdir)
    base = servers.feed(str(feed.parent))
    target = ingest.SyncTarget(workdir, base)
    url, ids = target.fresh("profile")
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": os.urandom(32).hex(), "FETCH_ALLOW": ["127.0.0.0/8"]}
    )
    with app.app_context():
        source = db.session.get(PartnerSource, ids[10_000])
        source.url = f"{base}/{feed.name}"
        db.session.commit()
        source_id = source.id
    return app, source_id, servers


def profile_sync(names, records, workdir):
    from hub.sync.scheduler import run_if_free

    app, source_id, servers = _sync_app(workdir, records)
    try:
        for label in ("sync", "resync"):
            with app.app_context():
                profiler = _profiler() if label in names else None
                started = time.perf_counter()
                if profiler:
                    profiler.start()
                run = run_if_free(source_id, "cli:profile", paused_too=True)
                if profiler:
                    profiler.stop()
                seconds = time.perf_counter() - started
                print(
                    f"\n{label}: {run.status}, fetched {run.fetched}, created {run.created}, "
                    f"unchanged {run.unchanged}, {seconds:.2f}s = {records / seconds:.0f} rec/s"
                )
                if profiler:
                    _print(f"{label} of {records} records", profiler, seconds, 1)
    finally:
        servers.close()


def profile_sync_memory(records, workdir):
    """Peak Python allocations by phase of the pipeline (tracemalloc)."""
    from hub.sync import batches, snapshots
    from hub.sync.scheduler import run_if_free

    phases = {}

    def watch(name, function):
        def wrapper(*args, **kwargs):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            try:
                return function(*args, **kwargs)
            finally:
                current, peak = tracemalloc.get_traced_memory()
                entry = phases.setdefault(name, {"calls": 0, "peak_above_start_mb": 0.0})
                entry["calls"] += 1
                entry["peak_above_start_mb"] = max(
                    entry["peak_above_start_mb"], (peak - before) / 2**20
                )
                entry["left_after_mb"] = (current - before) / 2**20

        return wrapper

    originals = {"ingest": batches.ingest, "settle_missing": snapshots.settle_missing}
    app, source_id, servers = _sync_app(workdir, records)
    try:
        batches.ingest = watch("ingest (one batch of 500)", originals["ingest"])
        snapshots.settle_missing = watch("settle_missing", originals["settle_missing"])
        for label in ("first sync", "re-sync"):
            phases.clear()
            with app.app_context():
                tracemalloc.start(5)
                started = time.perf_counter()
                run = run_if_free(source_id, "cli:profile", paused_too=True)
                seconds = time.perf_counter() - started
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
            print(
                f"\n{label} of {records} records ({run.status}, {seconds:.1f}s under tracemalloc)"
            )
            print(f"  peak of traced Python allocations in the whole run: {peak / 2**20:.1f} MB")
            for name, entry in phases.items():
                print(
                    f"  {name}: {entry['calls']} calls, peak {entry['peak_above_start_mb']:.1f} MB"
                    f" above its start, {entry['left_after_mb']:.1f} MB left after the last"
                )
    finally:
        batches.ingest = originals["ingest"]
        snapshots.settle_missing = originals["settle_missing"]
        servers.close()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("targets", nargs="*", default=list(ALL), help=", ".join(ALL))
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--records", type=int, default=5000)
    args = parser.parse_args(argv)
    unknown = set(args.targets) - set(ALL) - {"sync_memory"}
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    workdir = tempfile.mkdtemp(prefix="hub-profile-")
    try:
        http = [t for t in args.targets if t in HTTP_TARGETS]
        if http:
            profile_http(http, args.requests, workdir)
        sync = [t for t in args.targets if t in SYNC_TARGETS]
        if sync:
            profile_sync(sync, args.records, workdir)
        if "sync_memory" in args.targets:
            profile_sync_memory(args.records, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
