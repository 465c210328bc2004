"""The search index stays exact: after every kind of write (new entries and translations, edits,
deletion, restore from the trash, a revision restored, the purge), after syncs (a changed and a
shrunk partner document), after a sync killed in the middle of its writes, and after ``hub
reindex``. On SQLite the FTS5 tables are compared, trigram by trigram, with the texts (a stale
trigram left behind would show as a false match, a missing one as a miss); on both databases
the index's answers are compared with a scan of the texts."""

import contextlib
import os
import random
import signal
import subprocess
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from hub.accounts.models import User
from hub.db import utcnow
from hub.extensions import db
from hub.history.models import Revision
from hub.publishing import reverting, services
from hub.publishing import trash as publishing_trash
from hub.publishing.models import Entry, EntryTranslation
from hub.search import index
from hub.sync import pipeline
from hub.sync import services as sync_services
from tests.support import LoopbackServer, run_clock_from_awkward_instant, send
from tests.test_sync_faults import HUB, ROOT, hub_env, wait_for


# Their data is dated from "now": the clock stands at an awkward instant, whatever the day.
@pytest.fixture(autouse=True)
def clock(request, time_machine):
    """Their data is dated from now: time-machine runs the clock from an awkward instant."""
    return run_clock_from_awkward_instant(request, time_machine)


TEXTS = {
    "vi": ("Chè Thái Nguyên", "Chè búp khô, hương cốm, nước xanh."),
    "en": ("Honey from Hà Giang", "Wild honey of the mountain flowers."),
    "ja": ("八女茶の緑茶", "福岡県の伝統的な茶。"),
}


def trigrams(value):
    return {value[i : i + 3] for i in range(len(value) - 2)}


def translations():
    t = EntryTranslation
    return db.session.execute(select(t.entry_id, t.language, t.search_title, t.search_text)).all()


def assert_exact(extra_probes=()):
    """The index holds exactly the trigrams of the texts (SQLite), and answers as a scan does
    (both databases), for every trigram of the texts and ``extra_probes`` (texts that were
    there before a change)."""
    rows = translations()
    probes = set()
    for row in rows:
        probes |= trigrams(row.search_title) | trigrams(row.search_text)
    for value in extra_probes:
        probes |= trigrams(value)
    sample = sorted(probes)
    random.Random(7).shuffle(sample)
    sample = sample[:300]
    if db.session.get_bind().dialect.name == "sqlite":
        for column, name in index.TABLES.items():
            at = 2 if column == "search_title" else 3
            for gram in sample:
                expected = {
                    row.entry_id * 4 + index.SLOTS.get(row.language, 0)
                    for row in rows
                    if gram in row[at]
                }
                found = set(
                    db.session.scalars(
                        text(f"SELECT rowid FROM {name} WHERE {name} MATCH :q"),
                        {"q": index.fts_query([gram])},
                    )
                )
                assert found == expected, (column, gram)
    t = EntryTranslation
    # A query's words hold no space (``index.words``).
    single = [gram for gram in sample if " " not in gram][:40]
    for words in [[g] for g in single] + [["hon", "ney"], ["che", "thai"], ["緑茶"]]:
        for at, column in ((2, "search_title"), (3, "search_text")):
            if not index.indexed_words(words):
                continue
            stmt = index.matching(column, words, (t.entry_id, t.language))
            assert set(db.session.execute(stmt).all()) == {
                (row.entry_id, row.language) for row in rows if all(w in row[at] for w in words)
            }, (column, words)


@pytest.fixture
def vn(app):
    with app.test_request_context("/"):
        yield db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))


def test_the_index_follows_every_write(app, vn):
    made = []
    for language, (title, body) in TEXTS.items():
        entry = services.create_entry(
            vn, "product", language, {"title": title, "body": body}, {"product_group": "food"}
        )
        services.set_status(vn, entry.id, "published")
        made.append(entry.id)
    assert_exact()

    # A translation added, then the source text changed, then the translation changed.
    services.save_text(vn, made[0], "en", {"title": "Thai Nguyen green tea", "body": "Dried."})
    services.save_text(vn, made[0], "vi", {"title": "Chè Tân Cương", "body": "Chè ngon."})
    services.save_text(vn, made[0], "en", {"title": "Tan Cuong tea", "body": "Fine tea."})
    assert_exact(["che thai nguyen", "thai nguyen green tea dried."])

    # Deleted (the trash keeps its texts), restored, deleted again and purged.
    services.delete_entry(vn, made[1])
    assert_exact()
    services.restore_entry(vn, made[1])
    assert_exact()
    services.delete_entry(vn, made[1])
    purged = publishing_trash.purge(now=utcnow() + timedelta(days=app.config["TRASH_DAYS"] + 1))
    assert purged == 1
    assert_exact(["honey from ha giang wild honey of the mountain flowers."])

    # A revision restored brings the old text back into the index.
    first = db.session.scalar(
        select(Revision.id)
        .where(Revision.subject == "entry", Revision.subject_id == str(made[0]))
        .order_by(Revision.id)
        .limit(1)
    )
    reverting.restore_version(vn, made[0], first)
    assert_exact(["che tan cuong che ngon.", "tan cuong tea fine tea."])


CSV_HEAD = "id,name,description\n"


def csv_rows(start, stop, word="trà"):
    return "".join(
        f"P{n},Sản phẩm {word} {n},Mô tả {n} của làng nghề {word}\n" for n in range(start, stop)
    )


def test_syncs_keep_the_index_exact(app, httpserver, loopback_allowed):
    document = CSV_HEAD + csv_rows(0, 40)
    httpserver.expect_request("/p.csv").respond_with_data(document.encode())
    settings = {
        "language": "vi",
        "mapping": {"partner_id": "id", "title": "name", "body": "description"},
        "defaults": {"product_group": "food"},
    }
    with app.test_request_context("/"):
        source = sync_services.add_source("VN", "csv", httpserver.url_for("/p.csv"), settings).id
        assert pipeline.run_source(source).status == "ok"
    with app.app_context():
        assert_exact()
    # Renamed and shrunk: changed texts and tombstones.
    changed = CSV_HEAD + csv_rows(0, 30, word="chè") + csv_rows(30, 36)
    httpserver.clear()
    httpserver.expect_request("/p.csv").respond_with_data(changed.encode())
    with app.test_request_context("/"):
        run = pipeline.run_source(source)
        assert (run.status, run.updated) == ("ok", 30), run.error
    with app.app_context():
        assert_exact([csv_rows(0, 40)])


def test_reindex_rebuilds_the_index_and_the_folded_texts(app, vn, runner):
    with app.test_request_context("/"):
        entry = services.create_entry(
            vn, "product", "vi", {"title": "Gốm Bát Tràng"}, {"product_group": "souvenirs"}
        )
        services.set_status(vn, entry.id, "published")
        t = EntryTranslation.__table__
        # A folded copy gone wrong (folded by another rule) and an index lost.
        db.session.execute(
            t.update().where(t.c.entry_id == entry.id).values(search_title="GOM", search_text="")
        )
        if db.session.get_bind().dialect.name == "sqlite":
            for name in index.TABLES.values():
                db.session.execute(text(f"INSERT INTO {name}({name}) VALUES ('delete-all')"))
        db.session.commit()
    result = runner.invoke(args=["hub", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Search index rebuilt from" in result.output
    with app.test_request_context("/"):
        assert (
            db.session.scalar(
                select(EntryTranslation.search_title).where(EntryTranslation.entry_id == entry.id)
            )
            == "gom bat trang"
        )
        assert_exact()


# A sync killed while it writes: every batch it committed is in the index, nothing else.

RECORDS = 20_000


class BigPartner(LoopbackServer):
    """A loopback partner serving ``RECORDS`` products as CSV."""

    def __init__(self):
        body = (CSV_HEAD + csv_rows(0, RECORDS)).encode()
        super().__init__(lambda handler: send(handler, body, content_type="text/csv"))
        self.url += "/p.csv"


def test_a_sync_killed_while_it_writes_leaves_the_index_exact(deployed_app):
    partner = BigPartner()
    deployed_app.config["FETCH_ALLOW"] = ["127.0.0.1"]
    settings = {
        "language": "vi",
        "mapping": {"partner_id": "id", "title": "name", "body": "description"},
        "defaults": {"product_group": "food"},
    }
    with deployed_app.test_request_context("/"):
        source = sync_services.add_source("VN", "csv", partner.url, settings).id

    def written():
        with deployed_app.app_context():
            return db.session.scalar(select(func.count()).select_from(Entry))

    process = subprocess.Popen(
        [str(HUB), "sync", str(source)], env=hub_env(deployed_app), cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: written() > 0 or process.poll() is not None, seconds=120)
        os.killpg(process.pid, signal.SIGKILL)  # the sync and its worker
        process.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        partner.close()
    time.sleep(0.1)
    with deployed_app.app_context():
        count = written()
        assert 0 < count < RECORDS, "the sync was not killed while it wrote"
        assert_exact()
