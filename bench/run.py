"""The benchmark: ``.venv/bin/python -m bench`` or ``python bench/run.py`` (see bench/README.md).

It sets itself up (bench requirements into .venv, wrk when root, the catalogues), builds or
reuses the data set, starts the servers on loopback, measures each figure against its reference
in the same run (interleaved rounds, medians), prints the table of targets and writes
bench/results/latest.json.
"""

import argparse
import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
RESULTS = ROOT / "bench" / "results"
REQUIREMENTS = ROOT / "bench" / "requirements.txt"


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Set-up: everything a fresh clone lacks, apart from the venv itself.


def _in_venv():
    return Path(sys.prefix).resolve() == VENV.resolve()


def _reexec_in_venv():
    python = VENV / "bin" / "python"
    if not python.exists():
        sys.exit(
            "bench: no .venv here; create it first:\n"
            "  python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt"
        )
    os.chdir(ROOT)
    os.execv(str(python), [str(python), "-m", "bench", *sys.argv[1:]])


def _requirements_stamp():
    digest = hashlib.sha256()
    for name in ("bench/requirements.txt", "requirements-dev.txt", "requirements.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_requirements():
    stamp = VENV / ".bench-requirements"
    wanted = _requirements_stamp()
    modules = ("flask", "gunicorn", "datasette", "sqlite_utils", "pyinstrument", "requests")
    if (
        stamp.exists()
        and stamp.read_text() == wanted
        and all(importlib.util.find_spec(m) for m in modules)
    ):
        return
    log("installing bench/requirements.txt into .venv")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)], check=True
    )
    importlib.invalidate_caches()
    stamp.write_text(wanted)


def ensure_wrk():
    if shutil.which("wrk"):
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        log("wrk is not installed (and we are not root): using the Python load generator")
        return False
    log("installing wrk (apt-get install -y wrk)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        subprocess.run(install, env=env, capture_output=True, check=False)
    if shutil.which("wrk"):
        return True
    log("could not install wrk: using the Python load generator")
    return False


def ensure_catalogues():
    stale = [
        po
        for po in (ROOT / "translations").glob("*/LC_MESSAGES/messages.po")
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        log("compiling the translation catalogues")
        subprocess.run(
            [str(VENV / "bin" / "pybabel"), "compile", "--directory", "translations"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )


def ensure_bytecode():
    """The hub's modules compiled to bytecode, as an installed package's are (pip compiles
    what it installs): a checkout imported with PYTHONDONTWRITEBYTECODE set would compile
    them again in every process the bench starts, 0.3 s each (a sync and its worker)."""
    import compileall

    for name in ("hub", "connectors", "bench"):
        compileall.compile_dir(ROOT / name, quiet=1)


# ---------------------------------------------------------------------------------------------
# HTTP figures.


def _scenarios(datasette_db, media_path=None, only=None):
    """The HTTP figures: ``(name, server, path, headers, expected status)``; with
    ``media_path``, a stored variant served by the hub; ``only``: those names alone."""
    from bench.targets import COUNTRY, PAGE_COUNTRY

    # Newest first like the hub; no total count (the hub gives none, and Datasette's count of
    # the view takes longer than the page) and no facets or facet suggestions (an HTML
    # browsing aid that costs seconds on a view): Datasette as one would set it up for an API.
    ds_view = (
        f"/{datasette_db}/product_ja.json?_size=50&_shape=objects&_sort_desc=id"
        "&_nocount=1&_nofacet=1&_nosuggest=1"
    )
    api = "/api/v1/products?limit=50&lang=ja"
    scenarios = [
        # name, server, path, headers, expected status
        ("bare", "bare", "/", None, 200),
        ("api", "hub", api, None, 200),
        ("api_country", "hub", f"{api}&country={COUNTRY}", None, 200),
        ("datasette", "datasette", ds_view, None, 200),
        ("datasette_country", "datasette", f"{ds_view}&country={COUNTRY}", None, 200),
        ("api_304", "hub", api, "etag", 304),
        ("country_page", "hub", f"/ja/countries/{PAGE_COUNTRY}", None, 200),
        ("products_page", "hub", "/ja/products", None, 200),
        ("search_vi", "hub", "/vi/search?q=" + quote("mật ong"), None, 200),
        ("search_en", "hub", "/en/search?q=honey", None, 200),
        ("search_ja", "hub", "/ja/search?q=" + quote("はちみつ"), None, 200),
    ]
    if media_path:
        scenarios.append(("media", "hub", media_path, None, 200))
        scenarios.append(("bare_media", "bare", media_path, None, 200))  # for information
    return [s for s in scenarios if only is None or s[0] in only]


DRAIN_PATHS = {"bare": "/", "hub": "/api/v1/programmes?country=VN", "datasette": "/-/versions.json"}


def _get(url, headers=None, timeout=120):
    import requests

    return requests.get(
        url, headers={"Accept-Encoding": "identity", **(headers or {})}, timeout=timeout
    )


def http_figures(bases, datasette_db, rounds, seconds, media_path=None, only=None):
    from bench import load

    scenarios = _scenarios(datasette_db, media_path, only)
    etag = None
    if any(headers == "etag" for _n, _s, _p, headers, _st in scenarios):
        api = next(path for name, _s, path, _h, _st in scenarios if name == "api")
        etag = _get(bases["hub"] + api).headers["ETag"]
    resolved = []
    for name, server, path, headers, status in scenarios:
        headers = {"If-None-Match": etag} if headers == "etag" else headers
        url = bases[server] + path
        got = _get(url, headers)
        if got.status_code != status:
            raise RuntimeError(f"{name}: {url} answered {got.status_code}, not {status}")
        resolved.append((name, server, url, headers, len(got.content)))

    def drain(server):
        # Requests still queued when the load stopped are served before this one.
        _get(bases[server] + DRAIN_PATHS[server], timeout=300)

    log("HTTP: warming up")
    for _name, _server, url, headers, _size in resolved:
        for _ in range(4):  # each worker's connection and caches, the OS page cache
            _get(url, headers)
    results = {
        name: {"url": url, "server": server, "body_bytes": size, "rounds": []}
        for name, server, url, headers, size in resolved
    }
    for r in range(rounds):
        log(f"HTTP: round {r + 1}/{rounds}")
        for name, server, url, headers, _size in resolved:
            outcome = load.measure(url, seconds, headers=headers)
            drain(server)
            results[name]["rounds"].append(outcome)
            flag = "" if not (outcome["errors"] or outcome["bad_status"]) else "  (errors!)"
            log(f"  {name:18} {outcome['rps']:9.1f} req/s{flag}")
    for data in results.values():
        good = [o["rps"] for o in data["rounds"] if not (o["errors"] or o["bad_status"])]
        data["median_rps"] = statistics.median(good) if good else None
        data["tool"] = data["rounds"][0]["tool"]
        data["p50_ms"] = statistics.median(o.get("p50_ms", 0) for o in data["rounds"])
    return results


def follow_changes(base, limit=1000, max_seconds=90):
    """A client following /api/v1/changes from 0 to the end (gzip accepted, as requests
    does): records per second. The loop is bounded in pages and in time (``max_seconds``:
    past it, the rate is that of the part followed, and ``complete`` is false)."""
    import requests

    session = requests.Session()
    since, records, pages, page_times = 0, 0, 0, []
    started = time.perf_counter()
    complete = False
    while pages < 10_000 and time.perf_counter() - started < max_seconds:
        t0 = time.perf_counter()
        response = session.get(
            f"{base}/api/v1/changes", params={"since": since, "limit": limit}, timeout=300
        )
        response.raise_for_status()
        body = response.json()
        page_times.append(time.perf_counter() - t0)
        pages += 1
        records += len(body["items"])
        since = body["next_since"]
        if not body["more"]:
            complete = True
            break
    seconds = time.perf_counter() - started
    session.close()
    return {
        "records": records,
        "pages": pages,
        "seconds": seconds,
        "records_per_s": records / seconds if seconds else None,
        "median_page_s": statistics.median(page_times) if page_times else None,
        "complete": complete,
        "limit": limit,
    }


# ---------------------------------------------------------------------------------------------
# Ingest figures.


def ingest_figures(workdir, servers, env, postgres_url, peer_rounds):
    from bench import ingest

    feed100, feed10 = ingest.feed_file(100_000), ingest.feed_file(10_000)
    base = servers.feed(str(feed100.parent))
    target = ingest.SyncTarget(workdir, base, postgres_url)
    raw, peer, hub = [], [], {}

    def peers(r):
        log(f"ingest: raw limit and sqlite-utils, round {r + 1}/{peer_rounds}")
        raw.append(ingest.raw_limit(feed100, workdir, f"r{r}"))
        peer.append(ingest.sqlite_utils_insert(feed100, workdir, f"r{r}"))
        log(f"  raw {raw[-1]['wall_s']:.1f}s, sqlite-utils {peer[-1]['wall_s']:.1f}s")

    def sync(key, label, count, url, source_id, expect=("ok", "partial")):
        log(f"ingest: hub {label}")
        try:
            result = ingest.hub_sync(url, source_id, env, expect)
        except Exception as exc:  # the figure says it failed; the other figures go on
            hub[key] = {"error": str(exc)[:2000]}
            log(f"  FAILED: {str(exc)[:300]}")
            return False
        hub[key] = result
        log(
            f"  {result['wall_s']:.1f}s ({count / result['wall_s']:.0f} rec/s), "
            f"peak {result['max_rss_mb']:.0f} MB at {result['rss_peak_at_s']}s"
        )
        return True

    try:
        peers(0)
        url, ids = target.fresh("10k")
        sync("first_10k", "first sync of 10 000 records", 10_000, url, ids[10_000])
        target.drop(url)
        if peer_rounds > 1:
            peers(1)
        url, ids = target.fresh("100k")
        if sync("first_100k", "first sync of 100 000 records", 100_000, url, ids[100_000]):
            # The same document again: the hub knows it by its digest (as by an ETag).
            unchanged = ("ok", "not_modified")
            sync(
                "resync_100k", "unchanged re-sync of 100 000", 100_000, url, ids[100_000], unchanged
            )
            # The same records in other bytes: each is compared by its fingerprint.
            ingest.forget_document(url, ids[100_000])
            label = "unchanged re-sync of 100 000, record by record"
            sync("resync_records_100k", label, 100_000, url, ids[100_000])
        target.drop(url)
        for r in range(2, peer_rounds + 1):  # the peer's last rounds, the first sync's others
            if r < peer_rounds:
                peers(r)
            if "wall_s" in hub.get("first_100k", {}):
                url, ids = target.fresh(f"100k-{r}")
                if sync(f"first_100k_{r}", "first sync of 100 000 again", 100_000, url,
                        ids[100_000]):  # fmt: skip
                    _another_round(hub, "first_100k", hub.pop(f"first_100k_{r}"))
                target.drop(url)
    finally:
        target.close()
    return {
        "records": 100_000,
        "feed_bytes": feed100.stat().st_size,
        "raw": {"rounds": raw, "median_s": statistics.median(x["wall_s"] for x in raw)},
        "sqlite_utils": {"rounds": peer, "median_s": statistics.median(x["wall_s"] for x in peer)},
        "hub": hub,
        "feed10_bytes": feed10.stat().st_size,
    }


def _another_round(hub, key, result):
    """Fold another round of the figure ``key`` into it: its wall time becomes the median of
    its rounds (one sample moves 5–8 % with the machine, as the peer's do), its peak memory
    the highest."""
    figure = hub[key]
    rounds = figure.setdefault("rounds_s", [figure["wall_s"]])
    rounds.append(result["wall_s"])
    figure["wall_s"] = statistics.median(rounds)
    figure["max_rss_mb"] = max(figure["max_rss_mb"], result["max_rss_mb"])


# ---------------------------------------------------------------------------------------------


def cold_part(workdir, sqlite_cache, hub_url, hub_env, args):
    """The cold figures (bench/cold.py), on servers of their own started afresh (empty answer
    caches), Datasette on a copy of the data set with a full-text index."""
    from bench import cold
    from bench.servers import Servers

    log("cold: Datasette's copy of the data set, with a full-text index (FTS5, trigram)")
    started = time.perf_counter()
    peer_db, metadata = cold.datasette_copy(sqlite_cache, workdir)
    log(f"  built in {time.perf_counter() - started:.0f}s")
    try:
        with Servers(workdir) as servers:
            log("cold: starting gunicorn (hub, bare Flask) and Datasette, afresh")
            bases = {
                "hub": servers.gunicorn("hub", "wsgi:app", env=hub_env),
                "bare": servers.gunicorn("bare", "bench.bare_app:app"),
                # A search slower than Datasette's default second under load is answered
                # all the same, as the hub's are (wrk waits 60 s).
                "datasette": servers.datasette(peer_db, metadata, time_limit_ms=60_000),
            }
            return cold.cold_figures(bases, sqlite_cache, hub_url, args.rounds, args.seconds, log)
    finally:
        peer_db.unlink(missing_ok=True)  # 1.2 GB, no longer needed


MIXED_RECORDS = 5000  # the partner's sync that runs under the mixed load


def mixed_figure(workdir, servers, env, postgres_url, seconds):
    """The hub as ``make run`` ships it (gunicorn with deploy/gunicorn.conf.py and the
    scheduler beside it) under 4 API writers and 4 page and API readers for ``seconds``, while
    the scheduler syncs a partner's 5 000 records (bench/mixed.py): writes and reads answered a
    second, their p95, every error, and every accepted write read back afterwards."""
    from sqlalchemy import select

    from bench import ingest
    from bench.mixed import MixedLoad, verify
    from hub import create_app
    from hub.api.auth import issue_token
    from hub.extensions import db
    from hub.sync.models import SyncRun

    feed = ingest.feed_file(MIXED_RECORDS)
    target = ingest.SyncTarget(
        workdir, servers.feed(str(feed.parent)), postgres_url, counts=(MIXED_RECORDS,)
    )
    try:
        url, ids = target.fresh("mixed")
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": env["HUB_SECRET_KEY"]})
        with app.test_request_context("/"):
            _token, secret = issue_token("Mixed load", "VN")
        instance = Path(workdir) / "mixed-instance"
        instance.mkdir(exist_ok=True)
        hub_env = {
            **env,
            "HUB_DATABASE_URL": url,
            "HUB_INSTANCE_PATH": str(instance),
            "HUB_API_RATE_LIMIT": "100000000 per minute",  # one address stands for many
        }
        base = servers.gunicorn("hub-mixed", "wsgi:app", env=hub_env)
        scheduler = subprocess.Popen(
            [str(Path(sys.executable).parent / "hub"), "scheduler"],
            env={**os.environ, **hub_env}, cwd=ROOT, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            log(f"mixed load: {seconds}s, 4 writers, 4 readers, a sync of {MIXED_RECORDS}")
            report = MixedLoad([base], {"Authorization": f"Bearer {secret}"}, seconds=seconds).run()
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                with app.app_context():
                    runs = db.session.scalars(
                        select(SyncRun.status).where(SyncRun.source_id == ids[MIXED_RECORDS])
                    ).all()
                if runs and runs[-1] != "running":
                    break
                time.sleep(1)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(scheduler.pid, signal.SIGTERM)
            scheduler.wait(timeout=300)
        missing = verify(base, report)
        result = {**report.summary(), "sync": runs[-1] if runs else None, "unread": len(missing)}
        db.binding(app).engine.dispose()
        log(
            f"  {result['writes_per_s']} writes/s, {result['reads_per_s']} reads/s, "
            f"{result['errors']} errors, {len(missing)} writes not read back, sync {result['sync']}"
        )
        return result
    finally:
        target.close()


def _postgres_url():
    url = os.environ.get("HUB_DATABASE_URL", "").strip()
    if not url:
        return None
    if url.startswith("sqlite"):
        log("HUB_DATABASE_URL names SQLite: the bench uses its own cached SQLite data set")
        return None
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _git_commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="HTTP rounds (default 3)")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per HTTP measurement")
    parser.add_argument("--peer-rounds", type=int, default=3, help="ingest reference rounds")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-changes", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument(
        "--skip-cold", action="store_true", help="no cold figures (every request distinct)"
    )
    parser.add_argument(
        "--only-cold",
        action="store_true",
        help="the cold figures alone (with bare Flask, their reference): no ingest, no media, "
        "no warm HTTP figures, no warm changes feed",
    )
    parser.add_argument(
        "--skip-media", action="store_true", help="neither processing nor serving the photo"
    )
    parser.add_argument(
        "--media-rounds", type=int, default=5, help="photo processing rounds (default 5)"
    )
    parser.add_argument(
        "--skip-mixed", action="store_true", help="no mixed load (writers, readers and a sync)"
    )
    parser.add_argument(
        "--mixed-seconds", type=int, default=60, help="seconds of the mixed load (default 60)"
    )
    parser.add_argument("--output", default=str(RESULTS / "latest.json"))
    parser.add_argument(
        "--report",
        metavar="FILE",
        help="print the table of a saved results file, measuring nothing",
    )
    return parser.parse_args(argv)


def main(argv=None):
    from bench.targets import evaluate

    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.only_cold:
        if args.skip_cold:
            sys.exit("bench: --only-cold and --skip-cold leave nothing to measure")
        args.skip_http = args.skip_changes = args.skip_ingest = args.skip_media = True
        args.skip_mixed = True
    if args.report:
        report = json.loads(Path(args.report).read_text())
        report["figures"] = evaluate(
            report["http"],
            report["changes"],
            report["ingest"],
            report.get("media"),
            report.get("cold"),
            report.get("mixed"),
        )
        print_report(report)
        return 0
    if not _in_venv():
        _reexec_in_venv()
    os.chdir(ROOT)
    ensure_requirements()
    have_wrk = ensure_wrk()
    ensure_catalogues()
    ensure_bytecode()

    from bench import dataset
    from bench import media as media_bench
    from bench.servers import Servers

    started = time.perf_counter()
    postgres = _postgres_url()
    sqlite_cache = dataset.sqlite_dataset()  # Datasette serves it in both modes
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    secret = os.urandom(32).hex()
    env = {"HUB_SECRET_KEY": secret, "HUB_FETCH_ALLOW": "127.0.0.0/8"}
    http = changes = ingest = media = cold = mixed = None
    # The hub's instance folder: its media folder holds the photo's variants (local storage,
    # the default), which the hub's server serves.
    instance = workdir / "instance"
    try:
        peer_db = dataset.copy_sqlite(sqlite_cache, workdir / "bench.sqlite3")
        hub_url = dataset.postgres_dataset(postgres) if postgres else f"sqlite:///{peer_db}"
        hub_env = {
            **env,
            "HUB_DATABASE_URL": hub_url,
            "HUB_INSTANCE_PATH": str(instance),
            # High enough never to answer 429 to the load; the limiter still runs.
            "HUB_API_RATE_LIMIT": "100000000 per minute",
        }
        media_path = None
        if not args.skip_media:
            # Before any server starts: the processing is measured on a quieter machine, and
            # its first round stores the variants the hub's server then serves.
            media = media_bench.processing_figures(
                {**env, "HUB_INSTANCE_PATH": str(instance)}, args.media_rounds, log
            )
            if media["stored"]:
                media["served"] = media_bench.served_variant(media["stored"])
                media_path = "/media/" + media["served"]["key"]
        serve_media = media_path is not None
        if not (args.skip_http and args.skip_changes and not serve_media):
            with Servers(workdir) as servers:
                log(
                    "starting gunicorn (hub, bare Flask)"
                    + ("" if args.skip_http else " and Datasette")
                )
                bases = {
                    "hub": servers.gunicorn("hub", "wsgi:app", env=hub_env),
                    "bare": servers.gunicorn(
                        "bare",
                        "bench.bare_app:app",
                        env={"BENCH_MEDIA_DIR": str(instance / "media")},
                    ),
                }
                if not args.skip_http:
                    bases["datasette"] = servers.datasette(peer_db)
                if not args.skip_http or serve_media:
                    only = ("bare", "media", "bare_media") if args.skip_http else None
                    http = http_figures(
                        bases, peer_db.stem, args.rounds, args.seconds, media_path, only
                    )
                if not args.skip_changes:
                    log("changes feed: following from 0 to the end")
                    changes = follow_changes(bases["hub"])
                    log(f"  {changes['records']} records in {changes['seconds']:.1f}s")
        if not args.skip_cold:
            cold = cold_part(workdir, sqlite_cache, hub_url, hub_env, args)
        if not args.skip_ingest:
            with Servers(workdir) as servers:
                ingest = ingest_figures(workdir, servers, env, postgres, args.peer_rounds)
        if not args.skip_mixed:
            with Servers(workdir) as servers:
                mixed = mixed_figure(workdir, servers, env, postgres, args.mixed_seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    from bench import servers as bench_servers

    report = {
        "meta": {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "commit": _git_commit(),
            "backend": "postgresql" if postgres else "sqlite",
            "data_version": dataset.data_version(),
            "params": dataset.PARAMS,
            "load_tool": "wrk" if have_wrk else "python",
            "rounds": args.rounds,
            "seconds": args.seconds,
            "media_rounds": None if args.skip_media else args.media_rounds,
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "worker_crashes": dict(bench_servers.crashes),
            "elapsed_s": round(time.perf_counter() - started, 1),
        },
        "http": http,
        "changes": changes,
        "ingest": ingest,
        "media": media,
        "cold": cold,
        "mixed": mixed,
    }
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    _save(out, report)  # the measurements first: a failure below must not lose them
    report["figures"] = evaluate(http, changes, ingest, media, cold, mixed)
    _save(out, report)
    print_report(report)
    log(f"results written to {out} ({report['meta']['elapsed_s']:.0f}s in all)")
    return 0


def _save(path, report):
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")


def print_report(report):
    from bench.targets import print_table

    meta = report["meta"]
    print()
    print(
        f"OVOP/OCOP Exchange Hub benchmark — {meta['backend']}, data set {meta['data_version']}, "
        f"load from {meta['load_tool']}, {meta['rounds']} × {meta['seconds']}s rounds, "
        f"{meta['cores']} cores, commit {(meta.get('commit') or '?')[:10]}"
    )
    print_table(report["figures"])
    crashes = meta.get("worker_crashes")
    if crashes:
        print(
            "Workers killed by a signal during the run (their requests failed and their caches"
            " started again empty; the figures are not to be trusted): "
            + ", ".join(f"{what} × {count}" for what, count in sorted(crashes.items()))
        )


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    sys.exit(main())
