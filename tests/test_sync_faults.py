"""Sync runs that meet faults: a partner that sends less than it announced, one that asks to be
asked again later, two runs of one source at once, a process killed in the middle of a run. Each
is retried or explained in a line, never a traceback; real loopback partners, real processes."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from hub.extensions import db
from hub.sync import services
from hub.sync.models import PartnerSource, SyncRun
from hub.sync.runs import RETRY_LATER_AT_LEAST
from hub.sync.scheduler import (
    INTERRUPTED,
    LEASE_MARGIN,
    RUN_DEADLINE,
    SyncScheduler,
    owner_name,
    run_if_free,
)
from tests.support import (
    AWKWARD_INSTANTS,
    TEST_SECRET_KEY,
    LoopbackServer,
    awkward_instant,
    send,
    sign_in,
)

ROOT = Path(__file__).resolve().parent.parent
HUB = Path(sys.executable).parent / "hub"
CSV = b"id,name\nP1,Tea\n"
SETTINGS = {
    "language": "en",
    "mapping": {"partner_id": "id", "title": "name"},
    "defaults": {"product_group": "beverages"},
}


class Partner(LoopbackServer):
    """A partner's server on loopback whose behaviour the test sets (``mode``): "ok", "hang"
    (answers when ``release`` is set), "busy" (429 with Retry-After: 600), "soon" (503 with
    Retry-After: 1) or "short" (announces 1000 bytes, sends 10 and closes)."""

    def __init__(self):
        self.mode, self.requests = "ok", 0
        self.release = threading.Event()
        super().__init__(self._get)
        self.url += "/products.csv"

    def _get(self, handler):
        self.requests += 1
        if self.mode in ("busy", "soon"):
            busy = self.mode == "busy"
            retry = ("Retry-After", "600" if busy else "1")
            send(handler, b"", 429 if busy else 503, headers=[retry])
            return
        if self.mode == "short":
            handler.send_response(200)
            handler.send_header("Content-Length", "1000")
            handler.end_headers()
            handler.wfile.write(CSV[:10])
            handler.close_connection = True
            return
        if self.mode == "hang":
            self.release.wait(60)
        send(handler, CSV, content_type="text/csv")

    def close(self):
        self.release.set()
        super().close()


@pytest.fixture
def partner():
    server = Partner()
    yield server
    server.close()


@pytest.fixture
def source(deployed_app, partner):
    deployed_app.config["FETCH_ALLOW"] = ["127.0.0.1"]
    with deployed_app.test_request_context("/"):
        return services.add_source("VN", "csv", partner.url, SETTINGS, every=60).id


@pytest.fixture
def stopped_clock(source, time_machine):
    """The clock stopped at an awkward instant (the last half hour of a year in UTC, already
    the next year on the machine's own clock), once the source exists; the instant, in UTC."""
    moment = awkward_instant(*AWKWARD_INSTANTS[0])
    time_machine.move_to(moment, tick=False)
    return moment.astimezone(UTC)


def get_source(app, source_id):
    with app.app_context():
        return db.session.get(PartnerSource, source_id)


def get_runs(app, source_id):
    with app.app_context():
        return db.session.scalars(
            select(SyncRun).where(SyncRun.source_id == source_id).order_by(SyncRun.id)
        ).all()


def set_source(app, source_id, **values):
    with app.app_context():
        db.session.execute(
            update(PartnerSource).where(PartnerSource.id == source_id).values(values)
        )
        db.session.commit()


# A partner that sends less than it announced


def test_a_body_cut_short_fails_the_run_with_the_reason(deployed_app, source, partner):
    partner.mode = "short"
    with deployed_app.app_context():
        run = run_if_free(source, owner_name("cli"))
    assert run.status == "failed"
    assert run.error.startswith(
        "the server sent fewer bytes than it announced (10 of 1000) and closed the connection"
    )
    assert partner.requests == 3  # retried like a connection failure
    assert get_source(deployed_app, source).consecutive_failures == 1


# A partner that asks to be asked again later


@pytest.mark.dates
def test_retry_after_fails_the_run_and_moves_the_next_one_without_counting(
    deployed_app, source, partner, stopped_clock
):
    set_source(deployed_app, source, consecutive_failures=3, next_run_dt=stopped_clock)
    partner.mode = "busy"
    scheduler = SyncScheduler(deployed_app, blocking=False)
    scheduler.refresh()
    scheduler.run_source(source)  # the source's job
    (run,) = get_runs(deployed_app, source)
    assert (run.status, run.started_by) == ("failed", "scheduler")
    assert "the server answered 429 and asked to be asked again at " in run.error
    item = get_source(deployed_app, source)
    assert item.consecutive_failures == 3  # unchanged: a busy partner is no broken one
    assert item.enabled
    assert item.next_run_dt == stopped_clock + timedelta(seconds=600)
    # The job waits for that moment, and a job that fires earlier does not run the source.
    job = scheduler.scheduler.get_job(f"source-{source}")
    assert abs(job.next_run_time - item.next_run_dt) <= timedelta(seconds=1)
    partner.mode = "ok"
    scheduler.run_source(source)
    assert len(get_runs(deployed_app, source)) == 1
    # Once it is due, it runs.
    set_source(deployed_app, source, next_run_dt=stopped_clock - timedelta(seconds=1))
    scheduler.run_source(source)
    runs = get_runs(deployed_app, source)
    assert [r.status for r in runs] == ["failed", "ok"]
    item = get_source(deployed_app, source)
    assert item.consecutive_failures == 0
    job = scheduler.scheduler.get_job(f"source-{source}")
    assert abs(job.next_run_time - item.next_run_dt) <= timedelta(seconds=1)


@pytest.mark.dates
def test_the_scheduler_follows_a_retry_after_met_by_the_command_line(
    deployed_app, source, partner, stopped_clock
):
    scheduler = SyncScheduler(deployed_app, blocking=False)
    scheduler.refresh()
    partner.mode = "busy"
    with deployed_app.app_context():
        run = run_if_free(source, owner_name("cli"), paused_too=True)
    assert (run.status, run.started_by) == ("failed", "cli")
    next_run = get_source(deployed_app, source).next_run_dt
    assert next_run == stopped_clock + timedelta(seconds=600)
    scheduler.refresh()
    job = scheduler.scheduler.get_job(f"source-{source}")
    assert abs(job.next_run_time - next_run) <= timedelta(seconds=1)


@pytest.mark.dates
def test_a_partner_that_always_says_in_a_second_is_asked_again_a_minute_later(
    deployed_app, source, partner, stopped_clock
):
    partner.mode = "soon"
    with deployed_app.app_context():
        run = run_if_free(source, owner_name("cli"))
    assert run.status == "failed" and "the server answered 503 and asked to be asked" in run.error
    assert partner.requests == 3  # waited out twice within the fetch
    item = get_source(deployed_app, source)
    assert (
        item.next_run_dt
        == run.finished_dt + RETRY_LATER_AT_LEAST
        == (stopped_clock + RETRY_LATER_AT_LEAST)
    )
    assert item.consecutive_failures == 0


# A run whose process died


@pytest.mark.dates
def test_the_next_run_closes_a_dead_run_as_interrupted(deployed_app, source, stopped_clock):
    with deployed_app.app_context():
        dead = SyncRun(source_id=source, status="running", started_by="cli")
        db.session.add(dead)
        db.session.commit()
        dead_id = dead.id
    # Its lease is still live: nobody else runs the source, the dead run stays as it is.
    set_source(
        deployed_app,
        source,
        lease_owner="cli:gone:1:x",
        lease_until_dt=stopped_clock + timedelta(minutes=1),
    )
    with deployed_app.app_context():
        assert run_if_free(source, owner_name()) is None
    assert [r.status for r in get_runs(deployed_app, source)] == ["running"]
    # Once it has expired, the next run closes it and runs.
    set_source(deployed_app, source, lease_until_dt=stopped_clock - timedelta(seconds=1))
    with deployed_app.app_context():
        run = run_if_free(source, owner_name())
    old, new = get_runs(deployed_app, source)
    assert (old.id, old.status, old.error) == (dead_id, "interrupted", INTERRUPTED)
    assert old.finished_dt is not None
    assert (new.id, new.status, new.started_by) == (run.id, "ok", "scheduler")


FINISHED = datetime(2027, 1, 1, 0, 15, tzinfo=UTC)  # a run's end, as stored (no clock read)


def test_the_source_page_shows_interrupted_runs_and_who_started_them(app, client):
    with app.test_request_context("/"):
        item = services.add_source("VN", "csv", "https://partner.example/p.csv", SETTINGS)
        db.session.add_all(
            [
                SyncRun(
                    source_id=item.id, status="interrupted", started_by="cli", error=INTERRUPTED
                ),
                SyncRun(source_id=item.id, status="ok", started_by="web", finished_dt=FINISHED),
                SyncRun(source_id=item.id, status="failed", started_by=None),
            ]
        )
        db.session.commit()
        source_id = item.id
    sign_in(client, "admin@hub.test")
    page = client.get(f"/en/admin/sources/{source_id}").get_data(as_text=True)
    assert '<th scope="col">Started by</th>' in page
    assert "<td>command line</td>" in page and "<td>interrupted</td>" in page
    assert "<td>Sync now</td>" in page and "<td>—</td>" in page
    assert INTERRUPTED in page
    page = client.get(f"/ja/admin/sources/{source_id}").get_data(as_text=True)
    assert "<td>中断</td>" in page and "<td>コマンドライン</td>" in page


# Two runs of one source at once, and a killed one: real `hub sync` processes


def hub_env(app):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "LC_", "LANG"))}
    return {
        **env,
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),  # this checkout's hub, whatever the virtualenv points to
        "HUB_DATABASE_URL": app.config["DATABASE_URL"],
        "HUB_SECRET_KEY": TEST_SECRET_KEY,
        "HUB_FETCH_ALLOW": "127.0.0.1",
    }


def start_sync(app, source_id):
    return subprocess.Popen(
        [str(HUB), "sync", str(source_id)],
        env=hub_env(app),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_second_hub_sync_of_a_source_says_who_has_it(deployed_app, source, partner):
    # The partner holds its answer until the second sync is over, however long that takes to
    # start on a busy machine.
    partner.mode = "hang"
    first = start_sync(deployed_app, source)
    try:
        wait_for(lambda: (get_source(deployed_app, source).lease_owner or "").startswith("cli:"))
        second = subprocess.run(
            [str(HUB), "sync", str(source)], env=hub_env(deployed_app), cwd=ROOT,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        partner.release.set()
        _out, err = first.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            first.kill()
    assert second.returncode == 1
    assert "Traceback" not in second.stderr
    assert second.stderr.strip().splitlines()[-1] == (
        f"Source {source} is already being synced by the command line."
    )
    assert first.returncode == 0, err
    assert [(r.status, r.started_by) for r in get_runs(deployed_app, source)] == [("ok", "cli")]


def test_a_killed_hub_sync_leaves_a_lease_that_expires_and_a_run_closed_as_interrupted(
    deployed_app, source, partner
):
    partner.mode = "hang"
    process = start_sync(deployed_app, source)
    try:
        wait_for(lambda: [r.status for r in get_runs(deployed_app, source)] == ["running"])
        wait_for(lambda: partner.requests == 1)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.communicate()
    (dead,) = get_runs(deployed_app, source)
    item = get_source(deployed_app, source)
    assert item.lease_owner.startswith("cli:")
    # The lease expires within the run's own deadline and a short margin.
    assert item.lease_until_dt <= dead.started_dt + RUN_DEADLINE + LEASE_MARGIN
    # While it lasts, another run is turned away; the dead run is left as it is.
    retry = subprocess.run(
        [str(HUB), "sync", str(source)], env=hub_env(deployed_app), cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert retry.returncode == 1
    assert "already being synced by the command line" in retry.stderr
    # Once it has expired (the test moves it to the past rather than wait 17 minutes):
    # (the subprocesses run on the real clock: the lease is put before the dead run began)
    set_source(deployed_app, source, lease_until_dt=dead.started_dt - timedelta(seconds=1))
    partner.release.set()
    partner.mode = "ok"
    again = subprocess.run(
        [str(HUB), "sync", str(source)], env=hub_env(deployed_app), cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    old, new = get_runs(deployed_app, source)
    assert (old.status, old.error, old.started_by) == ("interrupted", INTERRUPTED, "cli")
    assert (new.status, new.created, new.started_by) == ("ok", 1, "cli")
    item = get_source(deployed_app, source)
    assert item.lease_owner is None and item.lease_until_dt is None
