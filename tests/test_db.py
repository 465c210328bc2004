"""The database layer as deployed: sessions bound to the engine (not to the tests' outer
transaction), writes that take the lock up front on SQLite, several writers at once."""

import threading
from datetime import date

import pytest
from sqlalchemy import func, select, update

from hub.accounts.models import ApiToken
from hub.db import DeferredWrite
from hub.extensions import db
from hub.publishing.demo import seed_demo
from hub.publishing.models import Entry
from hub.registry.models import Country, MembershipEvent
from hub.registry.services import change_membership


def test_writes_commit_through_an_engine_bound_session(deployed_app):
    with deployed_app.test_request_context("/"):
        db.session.scalar(select(Country.code).limit(1))  # a read transaction is already open
        change_membership("MW", "applicant", "2025-01-01")
        assert seed_demo() == 11
    with deployed_app.app_context():
        assert db.session.get(Country, "MW").membership_status == "applicant"
        assert db.session.scalar(select(func.count()).select_from(Entry)) == 11


def test_concurrent_writers_all_succeed(deployed_app):
    """Writers in several threads (as several workers would be) each get their turn."""
    codes = ["MW", "KE", "UG", "TZ", "RW", "ET"]
    errors = []
    start = threading.Barrier(len(codes))

    def write(code):
        try:
            with deployed_app.test_request_context("/"):
                db.session.get(Country, code)  # read first, then write, like a page does
                start.wait(timeout=10)
                if code != "KE":  # KE is a member already: change it the other way
                    change_membership(code, "applicant", "2025-02-01")
                else:
                    change_membership(code, "suspended", "2025-02-01")
        except Exception as exc:  # collected and asserted below
            errors.append(repr(exc))

    threads = [threading.Thread(target=write, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with deployed_app.app_context():
        changed = db.session.scalar(
            select(func.count())
            .select_from(MembershipEvent)
            .where(MembershipEvent.effective_on == date(2025, 2, 1))
        )
        assert changed == len(codes)


def _hold_write_lock(app, release):
    """Another writer (a sync batch, say) holding SQLite's write lock until ``release`` is set,
    then committing a change; returns its thread, started once it holds the lock."""
    held = threading.Event()

    def hold():
        with app.app_context():
            db.begin_write()
            db.session.execute(update(Country).where(Country.code == "MW").values(note="held"))
            held.set()
            release.wait(timeout=10)
            db.session.commit()

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(timeout=10)
    return thread


def test_a_read_that_then_writes_without_taking_the_lock_is_caught(deployed_app, backend):
    """A deferred SQLite transaction that reads, then writes after another writer committed,
    would fail at once in production ("database is locked", whatever the busy timeout): the
    suite turns the pattern itself into an error, wherever it is, so each write path calls
    ``db.begin_write`` before its transaction's first read. (PostgreSQL has no such lock.)"""
    write = update(Country).where(Country.code == "MW").values(note="x")
    with deployed_app.app_context():
        db.session.scalar(select(Country.code).limit(1))
        if backend == "sqlite":
            with pytest.warns(DeferredWrite, match="a write after a read"):
                db.session.execute(write)
        else:
            db.session.execute(write)
        db.session.rollback()
        db.begin_write()
        db.session.scalar(select(Country.code).limit(1))
        db.session.execute(write)
        db.session.rollback()


def test_an_api_token_s_last_use_never_fails_its_request(deployed_app, tokens_for):
    """The token's last use is written after the answer, in a writing transaction of its own:
    a read that turned into a write would fail with "database is locked" while another writer
    commits (the mixed load of issue 23 found one such 500)."""
    headers, token_id = tokens_for(deployed_app)
    release = threading.Event()
    holder = _hold_write_lock(deployed_app, release)
    answers = []

    def ask():
        with deployed_app.test_client() as client:
            response = client.post("/api/v1/validate", json={"records": []}, headers=headers)
            answers.append(response.status_code)
            response.close()  # the bookkeeping runs when the answer is closed

    asker = threading.Thread(target=ask)
    asker.start()
    release.set()  # the holder commits while the request has read its token
    holder.join(timeout=10)
    asker.join(timeout=20)
    assert answers == [200]
    with deployed_app.app_context():
        assert db.session.get(ApiToken, token_id).last_used_dt is not None
        assert db.session.get(Country, "MW").note == "held"


@pytest.fixture
def tokens_for():
    def make(app):
        from hub.api.auth import issue_token

        with app.test_request_context("/"):
            token, secret = issue_token("Tools", "VN")
            return {"Authorization": f"Bearer {secret}"}, token.id

    return make


def test_changes_pending_in_the_session_are_written_under_the_write_lock(deployed_app, backend):
    """An object changed after a read, then ``db.begin_write`` (a service called with a
    changed object): the change is kept and written in a writing transaction."""
    with deployed_app.app_context():
        country = db.session.get(Country, "MW")  # a read opens the transaction
        country.note = "changed before the lock"
        db.begin_write()
        db.session.commit()  # on SQLite, DeferredWrite (an error here) if not under the lock
    with deployed_app.app_context():
        assert db.session.get(Country, "MW").note == "changed before the lock"
