"""/readyz: ready when the database answers, its schema is current and the scheduler's heartbeat
is fresh; 503 naming what fails. /healthz answers regardless (tests/test_config.py)."""

import time
from datetime import timedelta

from hub.db import upgrade
from hub.extensions import db
from hub.ops import health
from hub.ops.observe import observed_job
from hub.sync.scheduler import SyncScheduler
from tests.support import fresh_database, make_test_app


def ready(client):
    response = client.get("/readyz")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.content_type == "application/json"
    return response.status_code, response.get_json()


def beat(app):
    with app.app_context():
        health.beat("scheduler:test")


def test_ready_when_every_part_is(app, client):
    beat(app)
    status, body = ready(client)
    assert status == 200 and body["status"] == "ready" and "failing" not in body
    checks = body["checks"]
    assert checks["database"] == {"status": "ok"}
    assert checks["migrations"]["status"] == "ok"
    assert checks["migrations"]["revision"] == checks["migrations"]["head"]
    assert checks["scheduler"]["status"] == "ok"
    assert 0 <= checks["scheduler"]["age_seconds"] < 60


def test_a_stale_heartbeat_is_a_503_naming_the_scheduler(app, client, time_machine):
    beat(app)
    time_machine.move_to(health.utcnow() + timedelta(minutes=10))
    status, body = ready(client)
    assert status == 503 and body["status"] == "unready" and body["failing"] == ["scheduler"]
    assert body["checks"]["scheduler"]["status"] == "stale"
    assert body["checks"]["scheduler"]["age_seconds"] >= 600
    beat(app)  # a scheduler running again: ready again at once (no answer was cached)
    assert ready(client)[0] == 200


def test_no_heartbeat_at_all_is_a_503_unless_there_is_no_scheduler(app, client, monkeypatch):
    status, body = ready(client)
    assert status == 503 and body["checks"]["scheduler"]["status"] == "missing"
    monkeypatch.setitem(app.config, "READY_SCHEDULER_SECONDS", None)
    status, body = ready(client)
    assert status == 200 and body["checks"]["scheduler"] == {"status": "off"}


def test_a_database_out_of_reach_is_a_503_naming_it(tmp_path):
    app = make_test_app(f"sqlite:///{tmp_path}/no-such-folder/hub.sqlite3")
    status, body = ready(app.test_client())
    assert status == 503 and body["failing"] == ["database", "migrations", "scheduler"]
    assert body["checks"]["database"]["status"] == "unreachable"
    assert body["checks"]["migrations"] == {"status": "skipped"}
    assert app.test_client().get("/healthz").status_code == 200  # alive all the same


def test_a_schema_behind_the_code_is_a_503_naming_the_migrations(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        app = make_test_app(url)
        try:
            with app.app_context():
                upgrade(db.engine, "0033")
            status, body = ready(app.test_client())
            assert status == 503 and body["failing"] == ["migrations", "scheduler"]
            assert body["checks"]["migrations"]["status"] == "behind"
            assert body["checks"]["migrations"]["revision"] == "0033"
            assert body["checks"]["scheduler"] == {"status": "skipped"}
            with app.app_context():
                upgrade(db.engine)
            beat(app)
            assert ready(app.test_client())[0] == 200
        finally:
            db.binding(app).engine.dispose()


def test_an_empty_database_is_not_migrated(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        app = make_test_app(url)
        try:
            status, body = ready(app.test_client())
            assert status == 503 and body["checks"]["migrations"]["status"] == "not_migrated"
        finally:
            db.binding(app).engine.dispose()


def test_the_scheduler_beats_in_a_thread_of_its_own(deployed_app):
    scheduler = SyncScheduler(deployed_app, blocking=False)
    scheduler.start()
    try:
        job = scheduler.scheduler.get_job("heartbeat")
        assert job.executor == "heartbeat"
        assert job.trigger.interval == timedelta(seconds=health.HEARTBEAT_SECONDS)
        for _ in range(100):  # the first beat is at once
            with deployed_app.app_context():
                age = health.heartbeat_age(health.utcnow())
            if age is not None:
                break
            time.sleep(0.1)
    finally:
        scheduler.shutdown()
    assert age is not None and age < 60
    status, body = ready(deployed_app.test_client())
    assert status == 200, body


def test_a_heartbeat_that_cannot_be_written_fails_no_job(tmp_path, caplog):
    app = make_test_app(f"sqlite:///{tmp_path}/no-such-folder/hub.sqlite3")
    job = observed_job("heartbeat", lambda: beat(app))
    job()  # no exception
    assert "heartbeat could not be written" in caplog.text
    assert not [r for r in caplog.records if getattr(r, "outcome", None) == "error"]
