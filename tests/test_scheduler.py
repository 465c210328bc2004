"""The scheduler and its leases, on a database used as deployed (sessions bound to the engine,
several threads), on SQLite and PostgreSQL: two schedulers never run one source at once."""

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.db import upgrade
from hub.extensions import db
from hub.registry.seeding import seed_registry
from hub.sync import pipeline, services
from hub.sync.models import PartnerSource, SyncRun
from hub.sync.scheduler import SyncScheduler, run_if_free
from tests.support import fresh_database, make_test_app

CSV = "id,name\nP1,Tea\n"
SETTINGS = {
    "language": "en",
    "mapping": {"partner_id": "id", "title": "name"},
    "defaults": {"product_group": "beverages"},
}


@pytest.fixture
def deployed_app(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        app = make_test_app(url, FETCH_ALLOW=["127.0.0.1", "::1"], FETCH_DEADLINE=10)
        with app.app_context():
            upgrade(db.engine)
            seed_registry()
        yield app
        db.binding(app).engine.dispose()


@pytest.fixture
def slow_source(deployed_app, httpserver):
    def slow(_request):
        from werkzeug import Response

        time.sleep(1.5)
        return Response(CSV)

    httpserver.expect_request("/slow.csv").respond_with_handler(slow)
    with deployed_app.test_request_context("/"):
        return services.add_source(
            "VN", "csv", httpserver.url_for("/slow.csv"), SETTINGS, every=5
        ).id


def runs(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SyncRun))


def test_a_lease_lets_only_one_of_two_runners_at_a_time(deployed_app, slow_source):
    results = []

    def runner(owner):
        with deployed_app.app_context():
            run = run_if_free(slow_source, owner)
            results.append(None if run is None else run.status)

    threads = [threading.Thread(target=runner, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results, key=str) == [None, "ok"]
    assert runs(deployed_app) == 1
    with deployed_app.app_context():
        source = db.session.get(PartnerSource, slow_source)
        assert source.lease_owner is None and source.lease_until_dt is None  # released


def test_two_schedulers_never_run_one_source_at_once(deployed_app, slow_source):
    first = SyncScheduler(deployed_app, blocking=False, owner="scheduler-a")
    second = SyncScheduler(deployed_app, blocking=False, owner="scheduler-b")
    first.start()
    second.start()
    try:
        job = first.scheduler.get_job(f"source-{slow_source}")
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 300)
        deadline = time.monotonic() + 15
        while runs(deployed_app) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2.5)  # long enough for the other scheduler to have tried too
    finally:
        first.shutdown()
        second.shutdown()
    assert runs(deployed_app) == 1
    with deployed_app.app_context():
        run = db.session.scalar(select(SyncRun))
        assert run.status == "ok" and run.created == 1


def test_a_run_past_its_deadline_stops_and_fails(deployed_app, slow_source):
    with deployed_app.app_context():
        run = pipeline.run_source(slow_source, deadline=timedelta(0))
        assert run.status == "failed" and "longer than its deadline" in run.error


def test_refresh_drops_the_jobs_of_paused_sources(deployed_app, slow_source):
    scheduler = SyncScheduler(deployed_app, blocking=False)
    scheduler.refresh()
    assert [j.id for j in scheduler.scheduler.get_jobs()] == [f"source-{slow_source}"]
    with deployed_app.test_request_context("/"):
        services.set_enabled(slow_source, False)
    scheduler.refresh()
    assert scheduler.scheduler.get_jobs() == []
