"""The benchmark's data set: the seeded registry (43 countries), 100 000 products and some
thousands of policies, experiences and fairs, in Vietnamese, English and Japanese, from a fixed
seed.

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
import random
import shutil
import sys
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.core import get_global
from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import make_url

from bench import texts as T

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / "bench" / ".cache"

PARAMS = {
    "seed": 20261122,
    "counts": {"product": 100_000, "policy": 3_000, "experience": 2_000, "fair": 2_000},
    "translated_share": 0.8,  # each non-source language is there for 80 % of entries
    "outdated_share": 0.05,  # of those, 5 % were made from an older source text
    "layout": 3,  # bump when the generator changes in a way the sources do not show
}
CHUNK = 5_000  # entries per transaction
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2026, 6, 1, tzinfo=UTC)

# Share of the entries by country (the rest of the 43 get weight 1 each).
COUNTRY_WEIGHTS = {
    "VN": 22, "TH": 16, "JP": 12, "ID": 6, "PH": 5, "CN": 5, "IN": 5, "KH": 4, "LA": 4,
    "MY": 4, "KR": 3, "TW": 3, "BD": 2, "LK": 2, "NP": 2, "KE": 2,
}  # fmt: skip
GROUP_WEIGHTS = {
    "food": 35, "beverages": 20, "herbal": 12, "textiles": 10, "souvenirs": 15, "tourism": 8,
}  # fmt: skip
INSTRUMENT_NAMES = {
    "law": ("Luật", "Law", "法律"),
    "decree": ("Nghị định", "Decree", "政令"),
    "decision": ("Quyết định", "Decision", "決定"),
    "circular": ("Thông tư", "Circular", "通達"),
    "programme": ("Chương trình", "National programme", "国家プログラム"),
    "plan": ("Kế hoạch", "Plan", "計画"),
    "guideline": ("Hướng dẫn", "Guideline", "指針"),
    "standard": ("Tiêu chuẩn", "Standard", "基準"),
    "other": ("Văn bản", "Instrument", "文書"),
}


def _version_sources():
    from hub.i18n import fold
    from hub.publishing.services import add_months, fingerprint

    files = [
        ROOT / "bench" / "dataset.py",
        ROOT / "bench" / "texts.py",
        ROOT / "hub" / "publishing" / "models.py",
        ROOT / "hub" / "publishing" / "records.py",
        ROOT / "hub" / "publishing" / "exchange.py",
        ROOT / "hub" / "registry" / "seed" / "countries.json",
        *sorted((ROOT / "migrations" / "versions").glob("*.py")),
    ]
    parts = [f.read_bytes() for f in files]
    parts += [inspect.getsource(f).encode() for f in (fold, fingerprint, add_months)]
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


# ---------------------------------------------------------------------------------------------
# The plan: who is what, decided up front so that every entry can be generated on its own.


class Plan:
    def __init__(self, countries, programmes):
        seed = PARAMS["seed"]
        rng = random.Random(seed)
        counts = PARAMS["counts"]
        kinds = [k for k, n in counts.items() for _ in range(n)]
        rng.shuffle(kinds)
        self.n = len(kinds)
        self.kinds = kinds
        weights = [COUNTRY_WEIGHTS.get(c, 1) for c in countries]
        self.countries = rng.choices(countries, weights=weights, k=self.n)
        span = (END - START).total_seconds()
        self.created, self.updated, self.status, self.deleted = [], [], [], []
        for i in range(self.n):
            created = START + timedelta(seconds=span * i / self.n + rng.random() * 60)
            if rng.random() < 0.15:
                updated = min(created + timedelta(days=rng.uniform(1, 400)), END)
            else:
                updated = created + timedelta(minutes=rng.uniform(1, 30))
            roll = rng.random()
            status = "published" if roll < 0.96 else "draft" if roll < 0.985 else "archived"
            self.created.append(created)
            self.updated.append(updated)
            self.status.append(status)
            self.deleted.append(status == "published" and rng.random() < 0.005)
        # Change sequence numbers follow the last change of each entry.
        order = sorted(range(self.n), key=lambda i: (self.updated[i], i))
        self.change_seq = [0] * self.n
        for seq, i in enumerate(order, start=1):
            self.change_seq[i] = seq
        self.names = T.country_names(countries)
        self.places = {c: T.places_for(c, self.names) for c in countries}
        self.programmes = programmes  # {country: [programme ids]}
        zones = get_global("territory_zones")
        self.zones = {c: sorted(zones.get(c, ["UTC"]))[0] for c in countries}
        self.policies_by_country = {}
        for i, kind in enumerate(kinds):
            if kind == "policy":
                self.policies_by_country.setdefault(self.countries[i], []).append(i + 1)


def _source_language(country):
    return {"VN": "vi", "JP": "ja"}.get(country, "en")


def _cap(value):
    return value[:1].upper() + value[1:]


def _sentences(rng, pool, count, values, extra=None):
    """``count`` sentences from ``pool`` in the three languages: ``{lang: [sentences]}``."""
    picked = []
    while len(picked) < count:  # no sentence twice before every one has been used
        picked.extend(rng.sample(pool, min(len(pool), count - len(picked))))
    if extra is not None:
        picked.insert(rng.randrange(len(picked) + 1), extra)
    out = {}
    for index, lang in enumerate(T.LANGS):
        out[lang] = [s[index].format(**values[lang]) for s in picked]
    return out


def _paragraphs(rng, sentences, lang):
    glue = "" if lang == "ja" else " "
    result, current = [], []
    for sentence in sentences:
        current.append(sentence)
        if len(current) >= 3 and rng.random() < 0.4:
            result.append(glue.join(current))
            current = []
    if current:
        result.append(glue.join(current))
    return "\n\n".join(result)


def _date_between(rng, first, last):
    return first + timedelta(days=rng.randrange((last - first).days + 1))


# ---------------------------------------------------------------------------------------------
# One entry of each kind: (kind-specific columns, {lang: text}).


def _product(plan, i, rng):
    from hub.publishing.services import add_months

    country = plan.countries[i]
    group = rng.choices(list(GROUP_WEIGHTS), weights=list(GROUP_WEIGHTS.values()))[0]
    noun = rng.choice(T.PRODUCTS[group])
    qual = rng.choice(T.QUALIFIERS)
    place = rng.choice(plan.places[country])
    producer_type = rng.choice(list(T.PRODUCER_KINDS))
    rated = rng.random() < 0.8
    stars = rng.choices([1, 2, 3, 4, 5], weights=[3, 10, 40, 35, 12])[0] if rated else None
    rated_on = _date_between(rng, date(2021, 1, 1), date(2026, 5, 31)) if rated else None
    scheme = None
    valid_until = None
    if rated:
        scheme = {"VN": "ocop", "TH": "otop"}.get(country, "other")
        if scheme == "ocop":
            valid_until = add_months(rated_on, 36)
        elif rng.random() < 0.5:
            valid_until = rated_on + timedelta(days=730)
    year = rated_on.year if rated_on else 2024
    n, m = rng.randint(5, 400), rng.randint(3, 36)
    values = {
        lang: {
            "noun": noun[k],
            "Noun": _cap(noun[k]),
            "place": place[k],
            "stars": stars or 3,
            "year": year,
            "n": n,
            "m": m,
        }
        for k, lang in enumerate(T.LANGS)
    }
    extra = T.HONEY_SENTENCE if rng.random() < 1 / 6 else None
    body = _sentences(rng, T.PRODUCT_SENTENCES, rng.randint(3, 8), values, extra)
    titles = {
        "vi": _cap(f"{noun[0]} {qual[0]} {place[0]}"),
        "en": _cap(f"{qual[1]} {noun[1]} from {place[1]}"),
        "ja": f"{place[2]}産の{qual[2]}{noun[2]}",
    }
    source = _source_language(country)
    kind_names = T.PRODUCER_KINDS[producer_type]
    producer = {
        "vi": f"{kind_names[0]} {_cap(noun[0])} {place[0]}",
        "en": f"{place[1]} {noun[1]} {kind_names[1]}",
        "ja": f"{place[2]}{noun[2]}{kind_names[2]}",
    }[source]
    fields = {
        "producer_name": producer[:300],
        "producer_type": producer_type,
        "locality": place[T.LANGS.index(source)],
        "product_group": group,
        "rating_scheme": scheme,
        "stars": stars,
        "rated_on": rated_on,
        "valid_until": valid_until,
    }
    texts = {
        lang: {"title": titles[lang], "body": _paragraphs(rng, body[lang], lang)}
        for lang in T.LANGS
    }
    return fields, texts


def _policy(plan, i, rng):
    country = plan.countries[i]
    topic = rng.choice(T.POLICY_TOPICS)
    instrument = rng.choice(list(INSTRUMENT_NAMES))
    issued = _date_between(rng, date(2010, 1, 1), date(2026, 5, 31))
    number = rng.randint(10, 2999)
    ref = f"{number}/{issued.year}/{country}"
    first = issued.year
    last = first + rng.choice([2, 3, 5, 10])
    names = INSTRUMENT_NAMES[instrument]
    titles = {
        "vi": f"{names[0]} {ref} về {topic[0]} giai đoạn {first}–{last}",
        "en": f"{names[1]} {ref} on {topic[1]}, {first}–{last}",
        "ja": f"{first}〜{last}年の{topic[2]}に関する{names[2]}{ref}",
    }
    n, m = rng.randint(10, 90), rng.randint(1, 31)
    values = {lang: {"topic": topic[k], "n": n, "m": m} for k, lang in enumerate(T.LANGS)}
    summary = _sentences(rng, T.POLICY_SENTENCES, rng.randint(1, 2), values)
    body = _sentences(rng, T.POLICY_SENTENCES, rng.randint(12, 40), values)
    source = _source_language(country)
    names_here = plan.names[country]
    issuing = {
        "vi": "Bộ Nông nghiệp và Phát triển Nông thôn",
        "en": f"Ministry of Agriculture, {names_here[1]}",
        "ja": "農林水産省",
    }[source]
    fields = {
        "instrument": instrument,
        "reference_number": ref,
        "issuing_body": issuing,
        "issued_on": issued,
        "link": f"https://gov.example.org/{country.lower()}/{issued.year}/{number}",
    }
    glue = {"vi": " ", "en": " ", "ja": ""}
    texts = {
        lang: {
            "title": titles[lang],
            "summary": glue[lang].join(summary[lang]),
            "body": _paragraphs(rng, body[lang], lang),
        }
        for lang in T.LANGS
    }
    return fields, texts


def _experience(plan, i, rng):
    country = plan.countries[i]
    topic = rng.choice(T.POLICY_TOPICS)
    place = rng.choice(plan.places[country])
    titles = {
        "vi": f"Kinh nghiệm {topic[0]} tại {place[0]}",
        "en": f"{_cap(topic[1])} in {place[1]}: what worked",
        "ja": f"{place[2]}における{topic[2]}の経験",
    }
    n, m = rng.randint(10, 600), rng.randint(2, 12)
    values = {lang: {"place": place[k], "n": n, "m": m} for k, lang in enumerate(T.LANGS)}
    summary = _sentences(rng, T.EXPERIENCE_SENTENCES, rng.randint(1, 2), values)
    body = _sentences(rng, T.EXPERIENCE_SENTENCES, rng.randint(10, 35), values)
    lessons = _sentences(rng, T.LESSON_SENTENCES, rng.randint(2, 5), values)
    metrics = rng.sample(list(T.OUTCOME_UNITS), rng.randint(1, 3))
    outcomes = [
        {"metric": m, "value": rng.randint(5, 5000), "unit": T.OUTCOME_UNITS[m]} for m in metrics
    ]
    programmes = plan.programmes.get(country) or []
    fields = {
        "programme_id": rng.choice(programmes) if programmes and rng.random() < 0.7 else None,
        "outcomes": outcomes,
    }
    glue = {"vi": " ", "en": " ", "ja": ""}
    texts = {
        lang: {
            "title": titles[lang],
            "summary": glue[lang].join(summary[lang]),
            "body": _paragraphs(rng, body[lang], lang),
            "lessons": "\n\n".join(lessons[lang]),
        }
        for lang in T.LANGS
    }
    earlier = [p for p in plan.policies_by_country.get(country, []) if p < i + 1]
    links = rng.sample(earlier, min(len(earlier), rng.randint(0, 2)))
    return fields, texts, links


def _fair(plan, i, rng):
    country = plan.countries[i]
    theme = rng.choice(T.FAIR_THEMES)
    place = rng.choice(plan.places[country])
    venue = rng.choice(T.VENUES)
    first_day = _date_between(rng, date(2025, 1, 1), date(2027, 12, 31))
    last_day = first_day + timedelta(days=rng.choice([0, 0, 1, 2, 3]))
    all_day = rng.random() < 0.4
    if all_day:
        starts = datetime.combine(first_day, time(0))
        ends = datetime.combine(last_day, time(0))
    else:
        starts = datetime.combine(first_day, time(rng.choice([8, 9])))
        ends = datetime.combine(last_day, time(rng.choice([17, 18, 21])))
    zone_name = plan.zones[country]
    zone = ZoneInfo(zone_name)
    last = ends + timedelta(days=1) if all_day else ends
    year = first_day.year
    titles = {
        "vi": f"Hội chợ {theme[0]} {place[0]} {year}",
        "en": f"{place[1]} {theme[1]} Fair {year}",
        "ja": f"{year}年{place[2]}{theme[2]}フェア",
    }
    n, m = rng.randint(40, 600), rng.randint(10, 60)
    values = {lang: {"n": n, "m": m} for lang in T.LANGS}
    body = _sentences(rng, T.FAIR_SENTENCES, rng.randint(2, 5), values)
    source = _source_language(country)
    k = T.LANGS.index(source)
    deadline = first_day - timedelta(days=rng.randint(14, 60)) if rng.random() < 0.5 else None
    fields = {
        "venue": f"{venue[k]} {place[k]}",
        "city": place[k],
        "location_country": country,
        "starts_local": starts,
        "ends_local": ends,
        "all_day": all_day,
        "timezone": zone_name,
        "starts_utc": starts.replace(tzinfo=zone).astimezone(UTC),
        "ends_utc": last.replace(tzinfo=zone).astimezone(UTC),
        "fair_status": rng.choices(
            ["scheduled", "postponed", "rescheduled", "cancelled"], weights=[90, 3, 3, 4]
        )[0],
        "organiser": f"OCOP {plan.names[country][k]}",
        "website": f"https://fairs.example.org/{country.lower()}/{i + 1}",
        "product_groups": rng.sample(list(GROUP_WEIGHTS), rng.randint(1, 3)),
        "registration_deadline": deadline,
    }
    texts = {
        lang: {"title": titles[lang], "body": _paragraphs(rng, body[lang], lang)}
        for lang in T.LANGS
    }
    return fields, texts


# ---------------------------------------------------------------------------------------------
# Rows.


def _entry_rows(plan, i):
    """The entry row, its translation rows and its policy links, as the services would write
    them."""
    from hub.i18n import fold
    from hub.publishing import records
    from hub.publishing.services import fingerprint

    eid = i + 1
    kind = plan.kinds[i]
    rng = random.Random(f"{PARAMS['seed']}:{eid}")
    links = []
    if kind == "product":
        fields, texts = _product(plan, i, rng)
    elif kind == "policy":
        fields, texts = _policy(plan, i, rng)
    elif kind == "experience":
        fields, texts, links = _experience(plan, i, rng)
    else:
        fields, texts = _fair(plan, i, rng)
    country = plan.countries[i]
    source = _source_language(country)
    created, updated, status = plan.created[i], plan.updated[i], plan.status[i]
    published = created + timedelta(minutes=5) if status != "draft" else None
    row = {
        "id": eid,
        "kind": kind,
        "country_code": country,
        "status": status,
        "source_language": source,
        "origin": "local",
        "source_id": None,
        "partner_id": None,
        "content_fingerprint": None,
        "created_dt": created,
        "updated_dt": updated,
        "published_dt": published,
        "deleted_dt": updated if plan.deleted[i] else None,
        "change_seq": plan.change_seq[i],
        "created_by_id": None,
        "updated_by_id": None,
        **fields,
    }
    translations = []
    source_fp = None
    share, outdated_share = PARAMS["translated_share"], PARAMS["outdated_share"]
    for lang in (source, *[lang for lang in T.LANGS if lang != source]):
        if lang != source and rng.random() >= share:
            continue
        raw = texts[lang]
        text_ = {f: raw.get(f, "") for f in ("title", "summary", "body", "lessons")}
        fp = fingerprint(text_)
        if lang == source:
            source_fp, made_from = fp, None
        elif rng.random() < outdated_share:
            made_from = hashlib.sha256(f"older:{eid}:{lang}".encode()).hexdigest()
        else:
            made_from = source_fp
        translations.append(
            {
                "entry_id": eid,
                "language": lang,
                **text_,
                "fingerprint": fp,
                "source_fingerprint": made_from,
                "search_title": fold(text_["title"]),
                "search_text": fold(
                    " ".join(text_[f] for f in ("title", "summary", "body", "lessons"))
                ),
                "updated_dt": updated,
                "updated_by_id": None,
            }
        )
    # The item the changes feed serves, stored as every write does (hub.publishing.records).
    stored = records.live(row["status"], row["deleted_dt"])
    row["change_json"] = records.item_of_rows(row, translations) if stored else None
    row["change_json_seq"] = row["change_seq"] if stored else None
    return row, translations, [{"experience_id": eid, "policy_id": p} for p in links]


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
    from hub.registry.services import seed_registry

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
                row, rows, pairs = _entry_rows(plan, i)
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
