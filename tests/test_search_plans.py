"""Every statement a search sends reads the big tables through an index, on both databases:
the plans of the statements ``hub.search.queries.search`` runs (first page and deep, words of
every length, every ranking stage) are checked on 20 000 entries with their texts: none may
scan ``entry`` or ``entry_translation`` whole (issue 21 §1, §3). On SQLite the texts are found
through the FTS5 tables, on PostgreSQL through the trigram indexes."""

import random

import pytest
from sqlalchemy import event, select

from hub.db import utcnow
from hub.extensions import db
from hub.publishing.models import Entry, EntryTranslation
from hub.search import queries
from hub.sync.rows import insert_rows
from tests.support import query_plan, run_clock_from_awkward_instant, scans_table


# Their data is dated from "now": the clock stands at an awkward instant, whatever the day.
@pytest.fixture(autouse=True)
def clock(request, time_machine):
    """Their data is dated from now: time-machine runs the clock from an awkward instant."""
    return run_clock_from_awkward_instant(request, time_machine)


ENTRIES = 20_000
WORDS = [
    "chè",
    "trà",
    "mật",
    "ong",
    "bánh",
    "gạo",
    "lụa",
    "gốm",
    "nước",
    "mắm",
    "cà",
    "phê",
    "làng",
    "nghề",
    "truyền",
    "thống",
    "tea",
    "honey",
    "rice",
    "silk",
    "pottery",
    "coffee",
    "village",
    "craft",
    "お茶",
    "緑茶",
    "蜂蜜",
    "伝統",
    "工芸",
    "陶器",
    "織物",
]


def _fill():
    rng = random.Random(3)
    now = utcnow()
    first = db.session.scalar(select(Entry.id).order_by(Entry.id.desc()).limit(1)) or 0
    entries, texts = [], []
    for k in range(ENTRIES):
        entry_id = first + k + 1
        entries.append({
            "id": entry_id, "kind": "product", "country_code": "VN",
            "status": "published" if k % 10 else "draft", "source_language": "vi",
            "origin": "local", "created_dt": now, "updated_dt": now, "change_seq": k + 1,
            "product_group": "food",
        })  # fmt: skip
        for language in ("vi", "en", "ja")[: 1 + k % 3]:
            title = " ".join(rng.sample(WORDS, 2))
            body = " ".join(rng.choice(WORDS) for _ in range(20))
            texts.append({
                "entry_id": entry_id, "language": language, "title": title, "summary": "",
                "body": body, "lessons": "", "fingerprint": "x", "search_title": title,
                "search_text": f"{title} {body}", "updated_dt": now,
            })  # fmt: skip
    insert_rows(Entry.__table__, entries)
    insert_rows(EntryTranslation.__table__, texts)


def test_every_search_statement_reads_through_an_index(app, backend):
    sent = []

    def remember(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    with app.test_request_context("/en/"):
        _fill()
        connection = db.session.connection()
        if backend == "postgresql":
            connection.exec_driver_sql("ANALYZE entry")
            connection.exec_driver_sql("ANALYZE entry_translation")
        event.listen(connection, "before_cursor_execute", remember)
        try:
            for query in ("tea", "mật ong", "緑茶", "xyzzy", "茶", "cà phê village", "teo"):
                found = queries.search(query)
                while found.next_cursor and len(sent) < 400:
                    found = queries.search(query, cursor=found.next_cursor, limit=500)
        finally:
            event.remove(connection, "before_cursor_execute", remember)
        if backend == "postgresql":
            # At 20 000 entries PostgreSQL may rightly read a table whole rather than through
            # an index (at the bench's 100 000 it does not): the question here is whether an
            # index serves every statement, so whole-table reads are priced out.
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plans = {}
        for statement, parameters in sent:
            plan = query_plan(statement, parameters)
            if scans_table(plan, "entry") or scans_table(plan, "entry_translation"):
                plans[statement] = plan
        db.session.rollback()
    assert not plans, "These read a whole table:\n" + "\n".join(
        f"{s}\n  {p}" for s, p in plans.items()
    )
