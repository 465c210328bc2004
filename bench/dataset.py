"""The benchmark's data set: the seeded registry (43 countries), 100 000 products and some
thousands of policies, experiences and fairs, in Vietnamese, English and Japanese, from a fixed
seed (``bench.entries`` generates them).

It is written with batched core inserts (``executemany``) into the real tables, not through the
services, but it stores what the services would: one change sequence number per entry in the
order of its last change and the counter at the last one, translation fingerprints (a
translation remembers its source's fingerprint; some are outdated), folded search columns, UTC
instants of fairs derived from their local times and zones, OCOP validity dates, and on
PostgreSQL the id sequence moved past the ids written.

The SQLite file is cached in ``bench/.cache`` under a data-version hash (this file, the texts,
the migrations, the seed, and the functions whose output is stored), so a rerun starts at once.
On PostgreSQL the data goes to a schema named after the same hash, kept for the next run.
"""

import hashlib
import inspect
import json
import os
import shutil
import sys
import time as clock
from pathlib import Path

from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import make_url

from bench.entries import PARAMS, Plan, entry_rows

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / "bench" / ".cache"

CHUNK = 5_000  # entries per transaction


def _version_sources():
    from hub.i18n import fold
    from hub.publishing.services import add_months, fingerprint, search_values

    files = [
        ROOT / "bench" / "dataset.py",
        ROOT / "bench" / "entries.py",
        ROOT / "bench" / "texts.py",
        ROOT / "hub" / "publishing" / "models.py",
        ROOT / "hub" / "publishing" / "records.py",
        ROOT / "hub" / "publishing" / "exchange.py",
        ROOT / "hub" / "registry" / "seed" / "countries.json",
        *sorted((ROOT / "migrations" / "versions").glob("*.py")),
    ]
    parts = [f.read_bytes() for f in files]
    parts += [inspect.getsource(f).encode() for f in (fold, fingerprint, add_months, search_values)]
    parts.append(json.dumps(PARAMS, sort_keys=True).encode())
    return parts


def data_version():
    """A short hash of everything the data set's content depends on."""
    digest = hashlib.sha256()
    for part in _version_sources():
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def _log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _datasette_view(connection):
    """A view with the columns of the API's product view in Japanese (falling back to the
    source language), for Datasette to serve as the peer. The unary ``+`` keeps SQLite off
    ix_entry_public, so that newest first (``_sort_desc=id``) walks the primary key backwards
    and stops after a page instead of sorting every product."""
    connection.exec_driver_sql("DROP VIEW IF EXISTS product_ja")
    connection.exec_driver_sql(
        """
        CREATE VIEW product_ja AS
        SELECT e.id, e.country_code AS country, e.origin, e.published_dt, e.updated_dt,
               COALESCE(t.language, s.language) AS language,
               COALESCE(t.title, s.title) AS title,
               COALESCE(t.summary, s.summary) AS summary,
               COALESCE(t.body, s.body) AS body,
               e.producer_name, e.producer_type, e.locality, e.product_group,
               e.rating_scheme, e.stars, e.rated_on, e.valid_until
        FROM entry e
        JOIN entry_translation s ON s.entry_id = e.id AND s.language = e.source_language
        LEFT JOIN entry_translation t
               ON t.entry_id = e.id AND t.language = 'ja' AND t.title != ''
        WHERE +e.kind = 'product' AND +e.status = 'published' AND e.deleted_dt IS NULL
        """
    )


def _bench_app(url):
    from hub import create_app

    return create_app({"DATABASE_URL": url, "SECRET_KEY": os.urandom(32).hex()})


def build(url):
    """Migrate, seed and fill the database at ``url`` (empty, or a fresh schema)."""
    from hub.db import make_engine, upgrade
    from hub.extensions import db
    from hub.publishing.models import ChangeCounter, Entry, EntryTranslation, experience_policy
    from hub.registry.models import Country, Programme
    from hub.registry.seeding import seed_registry

    started = clock.perf_counter()
    app = _bench_app(url)
    with app.app_context():
        upgrade(db.engine)
        seed_registry()
        db.session.commit()
        countries = sorted(db.session.scalars(select(Country.code)))
        programmes = {}
        for pid, code in db.session.execute(
            select(Programme.id, Programme.country_code).order_by(Programme.id)
        ):
            programmes.setdefault(code, []).append(pid)
    db.binding(app).engine.dispose()

    plan = Plan(countries, programmes)
    engine = make_engine(url)
    entry_table, translation_table = Entry.__table__, EntryTranslation.__table__
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        raw = connection.connection.driver_connection  # outside SQLAlchemy's BEGIN
        if sqlite:
            raw.execute("PRAGMA synchronous=OFF")
        for start in range(0, plan.n, CHUNK):
            by_kind, translations, links = {}, [], []
            for i in range(start, min(start + CHUNK, plan.n)):
                row, rows, pairs = entry_rows(plan, i)
                by_kind.setdefault(row["kind"], []).append(row)
                translations.extend(rows)
                links.extend(pairs)
            with connection.begin():
                for rows in by_kind.values():
                    # One statement per kind: columns of other kinds stay NULL, as the ORM
                    # leaves them.
                    connection.execute(insert(entry_table), rows)
                connection.execute(insert(translation_table), translations)
                if links:
                    connection.execute(insert(experience_policy), links)
            done = min(start + CHUNK, plan.n)
            if done % 20_000 < CHUNK or done == plan.n:
                _log(f"data set: {done}/{plan.n} entries ({clock.perf_counter() - started:.0f}s)")
        with connection.begin():
            connection.execute(
                update(ChangeCounter.__table__).where(ChangeCounter.id == 1).values(value=plan.n)
            )
            if sqlite:
                _datasette_view(connection)
            else:
                connection.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('entry', 'id'), "
                    "(SELECT max(id) FROM entry))"
                )
        if sqlite:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    _log(f"data set built in {clock.perf_counter() - started:.0f}s")
    return plan


def sqlite_dataset():
    """The cached SQLite data set (built if missing): its path."""
    version = data_version()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"hub-{version}.sqlite3"
    if path.exists():
        return path
    for stale in [*CACHE_DIR.glob("hub-*.sqlite3*"), *CACHE_DIR.glob("building-*")]:
        stale.unlink()
    tmp = CACHE_DIR / f"building-{version}.sqlite3"
    _log(f"building the data set {version} (once; cached in {CACHE_DIR})")
    build(f"sqlite:///{tmp}")
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, path)
    return path


def copy_sqlite(source, target):
    """A private copy of a cached database for one run (the cache is never written)."""
    shutil.copyfile(source, target)
    return target


def schema_url(base_url, schema):
    """``base_url`` with ``search_path`` set to ``schema`` (as the test suite does)."""
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def postgres_dataset(base_url):
    """The data set in the PostgreSQL database at ``base_url``, in a schema of its own named
    after the data version (built if missing or incomplete): its URL."""
    from sqlalchemy import create_engine

    version = data_version()
    schema = f"bench_{version}"
    admin = create_engine(base_url)
    try:
        with admin.begin() as connection:
            complete = connection.execute(
                text(
                    "SELECT 1 FROM information_schema.tables "
                    "WHERE table_schema = :s AND table_name = 'bench_complete'"
                ),
                {"s": schema},
            ).first()
            if complete:
                return schema_url(base_url, schema)
            for (old,) in connection.execute(
                text(
                    "SELECT schema_name FROM information_schema.schemata "
                    "WHERE schema_name LIKE 'bench\\_%'"
                )
            ):
                connection.exec_driver_sql(f'DROP SCHEMA "{old}" CASCADE')
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        _log(f"building the data set {version} in PostgreSQL schema {schema}")
        url = schema_url(base_url, schema)
        build(url)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'ANALYZE "{schema}".entry')
            connection.exec_driver_sql(f'ANALYZE "{schema}".entry_translation')
            connection.exec_driver_sql(f'CREATE TABLE "{schema}".bench_complete (done int)')
        return url
    finally:
        admin.dispose()
