"""The cold figures (``python -m bench``, or ``--only-cold``; see bench/README.md): every
request distinct, so that no answer comes from the hub's answer cache, beside a peer or a
reference measured in the same rounds.

* cold search: ``/<lang>/search?q=…`` with queries drawn from the data set's own phrases
  (``bench.texts``), against Datasette's full-text search of the same texts (an FTS5 table
  with the trigram tokenizer, built in Datasette's own copy of the data set);
* filtered lists: ``/<lang>/products?…`` and ``/api/v1/products?…`` with random combinations
  of country, product group, stars and validity, against bare Flask;
* page 500 of a list against page 1, each a page started a few items further along;
* the changes feed followed from 0 against the same rows read with sqlite3 (or psycopg) and
  written as JSON.

Each figure cycles through its paths (``bench.load.measure`` with ``paths``), each round
starting where the previous one stopped; the figure says how many requests its paths ran short
of (``repeated``), which is 0 unless a server answers faster than the lists are long.
"""

import base64
import itertools
import json
import random
import re
import shutil
import sqlite3
import statistics
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from bench import texts as T

SEED = 21
WARM_PATHS = 4  # per figure, taken off the end of its list: the servers' warm-up
# A measurement that saw fewer answers than this is taken again, longer (4, then 12 times
# ``--seconds``, at most a minute), and the figure's later rounds last as long: at 16
# connections, a figure whose answers take seconds would otherwise be a count of the few
# answered before the end, or of none.
MIN_ANSWERS = 48
LONGER = (4, 12)
MAX_SECONDS = 60
PER_PAGE = 20
DEEP_PAGE = 500
SHIFTS = 200  # each page figure: the page started 0–199 items further along
DATASETTE_DB = "peer"  # Datasette's copy of the data set, with its full-text index

# Datasette as one would set it up for a search API: a page of 20 (the hub's search page),
# newest first, the query a phrase (the hub looks for the whole query as it is written), no
# count, no facets.
DATASETTE_SEARCH = (
    f"/{DATASETTE_DB}/entry_search.json?_searchmode=raw&_size=20&_sort_desc=id"
    "&_shape=objects&_nocount=1&_nofacet=1&_nosuggest=1&_search="
)


# ---------------------------------------------------------------------------------------------
# The requests.


def _phrases():
    """Every (vi, en, ja) phrase the data set is written from."""
    phrases = [p for group in T.PRODUCTS.values() for p in group]
    phrases += [p for group in T.PLACES.values() for p in group]
    phrases += list(T.PRODUCER_KINDS.values())
    for name in (
        "QUALIFIERS",
        "PRODUCT_SENTENCES",
        "POLICY_TOPICS",
        "POLICY_SENTENCES",
        "EXPERIENCE_SENTENCES",
        "LESSON_SENTENCES",
        "FAIR_THEMES",
        "FAIR_SENTENCES",
        "VENUES",
    ):
        phrases += getattr(T, name)
    phrases.append(T.HONEY_SENTENCE)
    return phrases


# The longest query in Vietnamese and English, in words: enough distinct queries that the
# one-client figure never asks one twice (it asked up to 121 of 473 English ones again at five).
MAX_WORDS = 7
PLACEHOLDER = re.compile(r"\{[^}]*\}")
WORD = re.compile(r"[^\W\d_]+")
JA_BREAK = re.compile(r"[\s。、（）「」・]+")


def search_queries(lang):
    """Distinct queries in ``lang``, shuffled from a fixed seed. Vietnamese and English: one to
    ``MAX_WORDS`` consecutive words of a phrase, as they stand in it (lower case), at least 3
    characters; Japanese: substrings of 3 to 6 characters of a phrase. Each is found in the
    data set's texts; none is shorter than 3 characters, the trigram index's shortest (a
    2-character query finds nothing in Datasette). Numbers, filled into the phrases per entry,
    are left out."""
    k = T.LANGS.index(lang)
    found = set()
    for phrase in _phrases():
        for piece in PLACEHOLDER.split(phrase[k]):
            if lang == "ja":
                for part in JA_BREAK.split(piece):
                    for n in (3, 4, 5, 6):
                        found.update(part[i : i + n] for i in range(len(part) - n + 1))
                continue
            text = piece.lower()
            words = WORD.findall(text)
            for i in range(len(words)):
                for n in range(1, MAX_WORDS + 1):
                    query = " ".join(words[i : i + n])
                    if len(words[i : i + n]) == n and len(query) >= 3 and query in text:
                        found.add(query)
    queries = sorted(found)
    random.Random(f"{SEED}-search-{lang}").shuffle(queries)
    return queries


def search_paths(lang):
    """``(hub paths, Datasette paths)``: the same queries for both."""
    queries = search_queries(lang)
    hub = [f"/{lang}/search?q={quote(q)}" for q in queries]
    peer = [DATASETTE_SEARCH + quote(f'"{q}"') for q in queries]
    return hub, peer


def _countries(db_path):
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as connection:
        return [
            code
            for (code,) in connection.execute(
                "SELECT DISTINCT country_code FROM entry WHERE kind = 'product' "
                "AND status = 'published' AND deleted_dt IS NULL ORDER BY 1"
            )
        ]


def filter_paths(db_path):
    """``(HTML paths, API paths)`` of the products list: every combination of language,
    country (one of the data set's, or none), product group (or none), stars (or none) and
    ``valid=1`` (or not), shuffled from a fixed seed."""
    from hub.publishing.vocabulary import PRODUCT_GROUPS

    combos = list(
        itertools.product(
            T.LANGS,
            [None, *_countries(db_path)],
            [None, *sorted(PRODUCT_GROUPS)],
            [None, 1, 2, 3, 4, 5],
            [False, True],
        )
    )
    random.Random(f"{SEED}-filters").shuffle(combos)
    html, api = [], []
    for lang, country, group, stars, valid in combos:
        query = {"country": country, "group": group, "stars": stars, "valid": 1 if valid else None}
        query = {k: v for k, v in query.items() if v is not None}
        html.append(f"/{lang}/products" + (f"?{urlencode(query)}" if query else ""))
        api.append("/api/v1/products?" + urlencode({"lang": lang, **query, "limit": PER_PAGE}))
    return html, api


def _api_cursor(entry_id):
    return base64.urlsafe_b64encode(str(entry_id).encode()).decode().rstrip("=")


def page_paths(db_path):
    """Page 1 and page 500 of the products list (newest first, 20 a page), in the HTML
    (``?after=``) and the API (``cursor=``): ``{name: paths}``. Each variant is a language, a
    list (every product, or a country's, a product group's, or those with at least some stars,
    wherever the list has more than 500 pages) and a shift: page 1 started 1 to 200 items in,
    page 500 0 to 199 items past its start (item 9 981). The cursors are read from the data set
    in the list's own order (published, not deleted, products, id descending)."""
    from hub.publishing.vocabulary import PRODUCT_GROUPS

    deep = PER_PAGE * (DEEP_PAGE - 1)  # items before page 500
    needed = deep + SHIFTS + PER_PAGE
    lists = []
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as connection:
        for country, group, stars in itertools.product(
            [None, "VN", "TH"], [None, *sorted(PRODUCT_GROUPS)], [None, 2, 3, 4]
        ):
            sql = (
                "SELECT id FROM entry WHERE kind = 'product' AND status = 'published' "
                "AND deleted_dt IS NULL"
            )
            params = []
            for column, value, op in (
                ("country_code", country, "="),
                ("product_group", group, "="),
                ("stars", stars, ">="),
            ):
                if value is not None:
                    sql += f" AND {column} {op} ?"
                    params.append(value)
            rows = connection.execute(f"{sql} ORDER BY id DESC LIMIT ?", [*params, needed])
            ids = [entry_id for (entry_id,) in rows]
            if len(ids) == needed:
                query = {"country": country, "group": group, "stars": stars}
                lists.append(({k: v for k, v in query.items() if v is not None}, ids))
    paths = {"page1_html": [], "page500_html": [], "page1_api": [], "page500_api": []}
    for lang, (query, ids), shift in itertools.product(T.LANGS, lists, range(SHIFTS)):
        for page, depth in (("page1", 1 + shift), ("page500", deep + shift)):
            after = ids[depth - 1]  # the last item before the page
            paths[f"{page}_html"].append(
                f"/{lang}/products?" + urlencode({**query, "after": after})
            )
            api = {"lang": lang, **query, "limit": PER_PAGE, "cursor": _api_cursor(after)}
            paths[f"{page}_api"].append("/api/v1/products?" + urlencode(api))
    for name, values in paths.items():
        random.Random(f"{SEED}-{name}").shuffle(values)
    return paths, len(lists)


# ---------------------------------------------------------------------------------------------
# Datasette's copy, with its full-text index.

FTS_SQL = """
CREATE VIRTUAL TABLE entry_fts USING fts5(
    title, summary, body, lessons,
    content='entry_translation', content_rowid='rowid', tokenize='trigram'
);
INSERT INTO entry_fts(rowid, title, summary, body, lessons)
    SELECT rowid, title, summary, body, lessons FROM entry_translation;
CREATE VIEW entry_search AS
    SELECT t.rowid AS text_rowid, e.id, e.kind, e.country_code AS country, t.language,
           t.title, t.summary
    FROM entry_translation t JOIN entry e ON e.id = t.entry_id
    WHERE e.status = 'published' AND e.deleted_dt IS NULL;
"""


def datasette_copy(source, workdir):
    """Datasette's copy of the data set with a full-text index over every translation's
    texts (FTS5, trigram: it finds substrings, Japanese too) and a view of the published
    entries' texts searched through it; ``(its path, its metadata file)``."""
    target = Path(workdir) / f"{DATASETTE_DB}.sqlite3"
    shutil.copyfile(source, target)
    connection = sqlite3.connect(target)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.executescript(FTS_SQL)
        connection.commit()
    finally:
        connection.close()
    metadata = Path(workdir) / "datasette-metadata.json"
    table = {"fts_table": "entry_fts", "fts_pk": "text_rowid"}
    metadata.write_text(
        json.dumps({"databases": {DATASETTE_DB: {"tables": {"entry_search": table}}}})
    )
    return target, metadata


# ---------------------------------------------------------------------------------------------
# The changes feed's raw reference.

ENTRY_COLUMNS = (
    "id", "change_seq", "kind", "country_code", "status", "deleted_dt", "source_language",
    "updated_dt", "origin_hub", "origin_id",
)  # fmt: skip
KIND_COLUMNS = {
    "policy": ("instrument", "reference_number", "issuing_body", "issued_on", "link"),
    "experience": ("outcomes",),
    "fair": (
        "venue", "city", "location_country", "all_day", "timezone", "fair_status", "organiser",
        "website", "product_groups", "registration_deadline", "exhibitor_countries",
    ),
    "product": (
        "producer_name", "producer_type", "locality", "product_group", "rating_scheme", "stars",
        "rated_on", "valid_until", "contact_email", "contact_phone", "contact_website",
        "contact_public", "where_to_buy", "certificates", "latitude", "longitude",
    ),
}  # fmt: skip
JSON_COLUMNS = {"outcomes", "product_groups", "exhibitor_countries", "where_to_buy", "certificates"}
COLLECTIONS = {
    "policy": "policies",
    "experience": "experiences",
    "fair": "fairs",
    "product": "products",
}
TEXT_COLUMNS = (
    "entry_id", "language", "title", "summary", "body", "lessons", "fingerprint",
    "source_fingerprint",
)  # fmt: skip


class _Reader:
    """The rows of the feed, from SQLite (sqlite3) or PostgreSQL (psycopg)."""

    def __init__(self, url):
        columns = [*ENTRY_COLUMNS, *dict.fromkeys(c for cs in KIND_COLUMNS.values() for c in cs)]
        self.columns = columns
        entries = (
            f"SELECT {', '.join(columns)} FROM entry WHERE change_seq > {{p}} "
            "AND published_dt IS NOT NULL ORDER BY change_seq LIMIT {p}"
        )
        texts = f"SELECT {', '.join(TEXT_COLUMNS)} FROM entry_translation WHERE entry_id "
        if url.startswith("sqlite"):
            self.connection = sqlite3.connect(f"file:{url.split(':///', 1)[1]}?mode=ro", uri=True)
            self.entries = entries.format(p="?")
            self.texts = texts + "IN ({})"
            self.sqlite = True
        else:
            import psycopg
            from sqlalchemy.engine import make_url

            u = make_url(url)
            self.connection = psycopg.connect(
                host=u.host, port=u.port, user=u.username, password=u.password,
                dbname=u.database, options=u.query.get("options", ""),
            )  # fmt: skip
            self.entries = entries.format(p="%s")
            self.texts = texts + "= ANY(%s)"
            self.sqlite = False

    def page(self, since, limit):
        return self.connection.execute(self.entries, (since, limit)).fetchall()

    def texts_of(self, ids):
        if not ids:
            return []
        if self.sqlite:
            sql = self.texts.format(", ".join("?" * len(ids)))
            return self.connection.execute(sql, ids).fetchall()
        return self.connection.execute(self.texts, (ids,)).fetchall()

    def close(self):
        self.connection.close()


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def raw_changes(url, limit, max_seconds=90):
    """The changes feed's rows read from 0 to the end, ``limit`` a page, in change order, each
    page written as the feed's JSON document (``items``, ``more``, ``next_since``): an item per
    entry with its collection, country and a tombstone flag, and for a live entry its record
    (its kind's fields and every translation's texts, with whether it is outdated). Records
    per second, bounded by ``max_seconds`` as the feed's follower is."""
    reader = _Reader(url)
    since, records, pages, written = 0, 0, 0, 0
    started = time.perf_counter()
    complete = False
    try:
        while pages < 10_000 and time.perf_counter() - started < max_seconds:
            rows = reader.page(since, limit + 1)
            more = len(rows) > limit
            rows = [dict(zip(reader.columns, row, strict=True)) for row in rows[:limit]]
            live = [r["id"] for r in rows if r["status"] == "published" and not r["deleted_dt"]]
            texts = {}
            for text in reader.texts_of(live):
                texts.setdefault(text[0], []).append(dict(zip(TEXT_COLUMNS, text, strict=True)))
            items = [_item(row, texts.get(row["id"])) for row in rows]
            next_since = rows[-1]["change_seq"] if rows else since
            body = json.dumps(
                {"items": items, "more": more, "next_since": next_since},
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode()
            written += len(body)
            records += len(rows)
            pages += 1
            since = next_since
            if not more:
                complete = True
                break
    finally:
        reader.close()
    seconds = time.perf_counter() - started
    return {
        "records": records,
        "pages": pages,
        "seconds": seconds,
        "records_per_s": records / seconds if seconds else None,
        "bytes": written,
        "complete": complete,
        "limit": limit,
    }


def _item(row, texts):
    item = {
        "id": row["id"],
        "collection": COLLECTIONS[row["kind"]],
        "country": row["country_code"],
        "deleted": texts is None,
    }
    if texts is not None:
        source = next((t for t in texts if t["language"] == row["source_language"]), None)
        record = {
            "source_language": row["source_language"],
            "status": row["status"],
            "translations": {
                t["language"]: {
                    "title": t["title"],
                    "summary": t["summary"],
                    "body": t["body"],
                    "lessons": t["lessons"],
                    "outdated": source is not None
                    and t["source_fingerprint"] is not None
                    and t["source_fingerprint"] != source["fingerprint"],
                }
                for t in sorted(texts, key=lambda t: t["language"])
                if t["title"]
            },
        }
        if row["origin_hub"]:
            record["origin"] = {"hub": row["origin_hub"], "id": row["origin_id"]}
        for name in KIND_COLUMNS[row["kind"]]:
            value = row[name]
            if name in JSON_COLUMNS and isinstance(value, str):
                value = json.loads(value)
            record[name] = _plain(value)
        item["record"] = record
    item["seq"] = row["change_seq"]
    item["updated_dt"] = _plain(row["updated_dt"])
    return item


# ---------------------------------------------------------------------------------------------
# The measurements.

DRAIN_PATHS = {"bare": "/", "hub": "/api/v1/programmes?country=VN", "datasette": "/-/versions.json"}


def _get(url, timeout=120):
    import requests

    return requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=timeout)


def _ms(value):
    return "       —   " if value is None else f"{value:8.1f} ms"


ALONE = "_alone"  # a figure measured with one connection: its latency is a request's own time
ALONE_PATHS = 640


def _figures(db_path):
    """``[(name, server, paths)]`` in the order of a round: each peer or reference before its
    subject."""
    figures = [("bare", "bare", ["/"])]
    for lang in T.LANGS:
        hub, peer = search_paths(lang)
        # The load figures take the first two thirds of the queries, the latency figure (one
        # client alone: the time a reader waits, not the queue) the rest, and at least
        # ``ALONE_PATHS``: three rounds of a client answered in 25 ms.
        cut = min(len(hub) * 2 // 3, len(hub) - ALONE_PATHS)
        figures.append((f"datasette_search_{lang}", "datasette", peer[:cut]))
        figures.append((f"search_{lang}", "hub", hub[:cut]))
        figures.append((f"search_{lang}_alone", "hub", hub[cut:]))
    html, api = filter_paths(db_path)
    figures.append(("list_html", "hub", html))
    figures.append(("list_api", "hub", api))
    pages, _lists = page_paths(db_path)
    for name in ("page1_html", "page500_html", "page1_api", "page500_api"):
        figures.append((name, "hub", pages[name]))
    return figures


def cold_figures(bases, db_path, hub_url, rounds, seconds, log):
    """Every cold figure: ``rounds`` rounds of ``seconds`` each, each figure's requests
    distinct (its paths in turn, each round going on where the last stopped), then the changes
    feed and its raw reference, ``rounds`` times each."""
    from bench import load
    from bench.run import follow_changes

    figures = _figures(db_path)
    results, measured = {}, {}
    for name, server, paths in figures:
        warm = paths if name == "bare" else paths[-WARM_PATHS:]
        paths = paths if name == "bare" else paths[:-WARM_PATHS]
        for path in warm[:1] + paths[:1]:  # what it answers, before any load
            got = _get(bases[server] + path)
            if got.status_code != 200:
                raise RuntimeError(f"{name}: {path} answered {got.status_code}, not 200")
        measured[name] = (server, paths, warm)
        results[name] = {
            "server": server,
            "paths": len(paths),
            "example": paths[0],
            "rounds": [],
            "issued": 0,
        }

    log("cold: warming up (paths left out of the measurements)")
    for _name, (server, _paths, warm) in measured.items():
        for path in warm:  # each worker's connection, the OS page cache; never a measured path
            _get(bases[server] + path)

    def settle(server, outcome):
        # The requests wrk left unanswered are still being worked on, by threads of their own
        # (a new request does not wait behind them): they must not take the next figure's
        # time, on this server or another. They end within about the round's slowest
        # answers; then one more request, as the warm figures wait for.
        time.sleep(min(MAX_SECONDS, (outcome.get("p99_ms") or 0) / 1000))
        _get(bases[server] + DRAIN_PATHS[server], timeout=300)

    durations = sorted({seconds, *(min(MAX_SECONDS, seconds * k) for k in LONGER)})
    step = dict.fromkeys(measured, 0)  # each figure's duration, in ``durations``
    for r in range(rounds):
        log(f"cold: round {r + 1}/{rounds}")
        for name, (server, paths, _warm) in measured.items():
            # bare Flask too through wrk's script (its one path, again and again): the load
            # generator does the same work for the reference as for its subjects.
            figure = results[name]
            while True:
                duration = durations[step[name]]
                offset = figure["issued"]
                connections = 1 if name.endswith(ALONE) else 16
                outcome = load.measure(
                    bases[server], duration, connections, paths=paths, offset=offset
                )
                figure["issued"] += outcome["issued"]  # the paths asked stay used
                settle(server, outcome)
                if outcome["requests"] >= MIN_ANSWERS or step[name] == len(durations) - 1:
                    break
                step[name] += 1
                log(
                    f"  {name}: {outcome['requests']} answers in {duration}s, "
                    f"again for {durations[step[name]]}s"
                )
            outcome["seconds"] = duration
            figure["rounds"].append(outcome)
            flag = "" if not (outcome["errors"] or outcome["bad_status"]) else "  (errors!)"
            log(
                f"  {name:22} {outcome['rps']:9.1f} req/s  p50 {_ms(outcome.get('p50_ms'))}"
                f"  p95 {_ms(outcome.get('p95_ms'))}  ({duration}s){flag}"
            )
    for name, figure in results.items():
        good = [o for o in figure["rounds"] if not (o["errors"] or o["bad_status"])]
        figure["median_rps"] = statistics.median(o["rps"] for o in good) if good else None
        for pct in ("p50_ms", "p95_ms"):
            values = [o[pct] for o in good if o.get(pct) is not None]
            figure[pct] = statistics.median(values) if values else None
        figure["tool"] = figure["rounds"][0]["tool"]
        # How many requests found their paths used up and went round again: 0 means every
        # request of the figure, in every round, was distinct (bare Flask's one path aside).
        issued = figure.pop("issued")
        figure["repeated"] = 0 if name == "bare" else max(0, issued - figure["paths"])
        if figure["repeated"]:
            log(f"  {name}: {figure['repeated']} requests repeated a path (list too short)")

    changes = {"raw": [], "feed": []}
    for r in range(rounds):
        # Another page size each round, so that no page of the feed is one already kept by
        # the hub's answer cache.
        limit = 1000 - r
        log(f"cold: changes feed and raw reference, limit={limit} ({r + 1}/{rounds})")
        raw = raw_changes(hub_url, limit)
        feed = follow_changes(bases["hub"], limit=limit)
        changes["raw"].append(raw)
        changes["feed"].append(feed)
        log(f"  raw {raw['records_per_s']:,.0f} rec/s, feed {feed['records_per_s']:,.0f} rec/s")
    for key in ("raw", "feed"):
        rates = [x["records_per_s"] for x in changes[key] if x["records_per_s"]]
        changes[f"{key}_median"] = statistics.median(rates) if rates else None
        changes[f"{key}_complete"] = all(x["complete"] for x in changes[key])
    results["changes"] = changes
    return results
