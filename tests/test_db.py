"""The database layer as deployed: sessions bound to the engine (not to the tests' outer
transaction), writes that take the lock up front on SQLite, several writers at once."""

import threading
from datetime import date

from sqlalchemy import func, select

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
