"""The ingest figures: a partner's product list as CSV (100 000 records, and its first 10 000),
served on loopback, synced by the hub in a subprocess (time and peak resident memory), against
the raw limit (the same file parsed with ``csv`` and upserted with ``sqlite3``, no validation)
and ``sqlite-utils insert`` of the same file (the peer)."""

import csv
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench import texts as T
from bench.dataset import CACHE_DIR, ROOT, schema_url

FEED_SEED = 4242
COLUMNS = [
    "id", "name", "description", "producer", "producer_type", "locality", "group", "scheme",
    "stars", "rated_on", "valid_until",
]  # fmt: skip
MAPPING = {
    "partner_id": "id",
    "title": "name",
    "body": "description",
    "producer_name": "producer",
    "producer_type": "producer_type",
    "locality": "locality",
    "product_group": "group",
    "rating_scheme": "scheme",
    "stars": "stars",
    "rated_on": "rated_on",
    "valid_until": "valid_until",
}
SETTINGS = {"language": "vi", "mapping": MAPPING}
GROUPS = list(T.PRODUCTS)


def _feed_version():
    digest = hashlib.sha256(Path(__file__).read_bytes() + Path(T.__file__).read_bytes())
    return digest.hexdigest()[:12]


def _rows(count):
    """The partner's records: Vietnamese products of a VN partner, valid by the hub's rules."""
    places = T.PLACES["VN"]
    for k in range(1, count + 1):
        rng = random.Random(f"{FEED_SEED}:{k}")
        group = rng.choice(GROUPS)
        noun = rng.choice(T.PRODUCTS[group])[0]
        qual = rng.choice(T.QUALIFIERS)[0]
        place = rng.choice(places)[0]
        sentences = rng.sample(T.PRODUCT_SENTENCES, rng.randint(2, 5))
        if rng.random() < 1 / 6:
            sentences.append(T.HONEY_SENTENCE)
        rated = rng.random() < 0.8
        stars = rng.choices([1, 2, 3, 4, 5], weights=[3, 10, 40, 35, 12])[0] if rated else None
        rated_on = date(2021, 1, 1) + timedelta(days=rng.randrange(1900)) if rated else None
        values = {
            "noun": noun,
            "Noun": noun[:1].upper() + noun[1:],
            "place": place,
            "stars": stars or 3,
            "year": rated_on.year if rated_on else 2024,
            "n": rng.randint(5, 400),
            "m": rng.randint(3, 36),
        }
        producer_type = rng.choice(list(T.PRODUCER_KINDS))
        family, given = rng.choice(T.FAMILY_NAMES), rng.choice(T.GIVEN_NAMES)
        producer = (
            f"{T.PRODUCER_KINDS[producer_type][0]} {family} {given}"
            if producer_type == "household"
            else f"{T.PRODUCER_KINDS[producer_type][0]} {values['Noun']} {place}"
        )
        yield [
            f"VN-{k:06d}",
            f"{values['Noun']} {qual} {place}",
            " ".join(s[0].format(**values) for s in sentences),
            producer,
            producer_type,
            place,
            group,
            "ocop" if rated else "",
            str(stars) if rated else "",
            rated_on.isoformat() if rated else "",
            "",  # OCOP: valid 36 months from the rating, which the hub works out
        ]


def feed_file(count):
    """The cached CSV feed of ``count`` records (written if missing): its path."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"feed-{_feed_version()}-{count}.csv"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            writer.writerows(_rows(count))
        os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------------------------
# Child processes, each timed on the wall clock, their memory sampled with their own children's.
#
# Not ``ru_maxrss`` from ``os.wait4``: subprocess starts children with vfork, and Linux carries
# the parent's high-water mark over the exec, so every child reported at least this process's
# own peak (195 MB for a child that never passed 120 MB).


def run_measured(argv, env=None, timeout=1800):
    """Run ``argv`` to its end: its wall time, its peak resident memory with that of the
    processes it starts (the sync's worker), sampled every 50 ms, and what it printed. Raises
    if it fails."""
    started = time.perf_counter()
    handle, name = tempfile.mkstemp(prefix="bench-child-", suffix=".out")
    os.close(handle)
    out_path = Path(name)
    err_path = out_path.with_suffix(".err")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        timeline = []  # (seconds, resident MB of the tree), to see when the peak is
        peak, peak_at = 0.0, None
        while True:
            pid, status, _usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise TimeoutError(f"{argv} took longer than {timeout}s")
            elapsed = time.perf_counter() - started
            if (rss := _tree_rss_mb(proc.pid)) is not None:
                if not timeline or elapsed - timeline[-1][0] >= 0.5:
                    timeline.append((round(elapsed, 1), round(rss, 1)))
                if rss > peak:
                    peak, peak_at = rss, round(elapsed, 1)
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    stdout, stderr = out_path.read_text(), err_path.read_text(errors="replace")
    out_path.unlink(missing_ok=True)
    err_path.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed ({proc.returncode}): {stderr[-3000:]}")
    return {
        "wall_s": seconds,
        "max_rss_mb": peak,
        "rss_peak_at_s": peak_at,
        "rss_timeline": timeline[:: max(1, len(timeline) // 200)],
        "stdout": stdout,
    }


def _rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(child) for child in f.read().split()]
    except OSError:
        return []


def _tree_rss_mb(pid):
    """The resident memory of ``pid`` and all its descendants, in MB (None once it is gone)."""
    total = _rss_mb(pid)
    if total is None:
        return None
    pending = _children(pid)
    while pending:
        child = pending.pop()
        total += _rss_mb(child) or 0.0
        pending.extend(_children(child))
    return total


# ---------------------------------------------------------------------------------------------
# The hub's side.


class SyncTarget:
    """Fresh databases for syncs: a migrated, seeded database with a CSV source of each of
    ``counts`` records (by default 100 000 and 10 000), copied for each measurement (SQLite)
    or rebuilt in a schema of its own (PostgreSQL)."""

    def __init__(self, workdir, feed_base, postgres_url=None, counts=(100_000, 10_000)):
        self.workdir = Path(workdir)
        self.feed_base = feed_base
        self.postgres_url = postgres_url
        self.counts = counts
        self.template = None
        self.schemas = []

    def _prepare(self, url):
        from hub import create_app
        from hub.db import upgrade
        from hub.extensions import db
        from hub.registry.seeding import seed_registry
        from hub.sync.services import add_source

        app = create_app({"DATABASE_URL": url, "SECRET_KEY": os.urandom(32).hex()})
        with app.app_context():
            upgrade(db.engine)
            seed_registry()
            db.session.commit()
            ids = {}
            for count in self.counts:
                name = feed_file(count).name
                source = add_source("VN", "csv", f"{self.feed_base}/{name}", dict(SETTINGS), 60)
                ids[count] = source.id
        db.binding(app).engine.dispose()
        return ids

    def fresh(self, label):
        """A fresh database: ``(url, {count: source_id})``."""
        if self.postgres_url:
            from sqlalchemy import create_engine

            schema = f"bench_sync_{label}".replace("-", "_")
            admin = create_engine(self.postgres_url)
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            admin.dispose()
            self.schemas.append(schema)
            url = schema_url(self.postgres_url, schema)
            return url, self._prepare(url)
        if self.template is None:
            path = self.workdir / f"sync-template-{'-'.join(map(str, self.counts))}.sqlite3"
            self.template = (path, self._prepare(f"sqlite:///{path}"))
        path = self.workdir / f"sync-{label}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.template[0], path)
        return f"sqlite:///{path}", self.template[1]

    def drop(self, url):
        if self.postgres_url:
            return
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def close(self):
        if self.postgres_url and self.schemas:
            from sqlalchemy import create_engine

            admin = create_engine(self.postgres_url)
            with admin.begin() as connection:
                for schema in self.schemas:
                    connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            admin.dispose()


def hub_sync(url, source_id, env, expect=("ok", "partial")):
    """``hub sync`` of one source in a child process: wall time, the run's own time, peak RSS
    and the run's counts. A run that ends otherwise than ``expect`` raises."""
    result = run_measured(
        [sys.executable, "-m", "bench.sync_child", str(source_id)],
        env={**env, "HUB_DATABASE_URL": url},
    )
    report = json.loads(result.pop("stdout").strip().splitlines()[-1])
    if report["status"] not in expect:
        raise RuntimeError(f"sync failed: {report}")
    return {**result, **report}


def forget_document(url, source_id):
    """Make the hub forget the digest of the source's last document, as if the partner had
    sent the same records in other bytes: the next run goes record by record."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE partner_source SET content_digest = NULL WHERE id = :id"),
                {"id": source_id},
            )
    finally:
        engine.dispose()


def raw_limit(csv_path, workdir, label):
    db_path = Path(workdir) / f"raw-{label}.sqlite3"
    result = run_measured([sys.executable, "-m", "bench.raw_child", str(csv_path), str(db_path)])
    result.pop("stdout")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    return result


def sqlite_utils_insert(csv_path, workdir, label):
    db_path = Path(workdir) / f"peer-{label}.sqlite3"
    binary = Path(sys.executable).parent / "sqlite-utils"
    argv = [binary, "insert", db_path, "products", csv_path, "--csv", "--pk", "id", "--silent"]
    result = run_measured([str(a) for a in argv])
    result.pop("stdout")
    db_path.unlink(missing_ok=True)
    return result
