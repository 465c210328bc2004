"""The hub on several processes, as on several machines: two gunicorn instances (each with
workers of its own and an instance folder of its own) and the scheduler, on PostgreSQL, with
Redis for the rate limits and the cache invalidation and moto's S3 server for the media, under
a mixed load (bench/mixed.py) while a partner's sync runs.

Checked: no error answer; every accepted write readable through the other instance within a
second, and all of them once the load is over; a follower of the changes feed ends with exactly
the database's entries; a second scheduler started meanwhile never runs the source the first
holds; a photo uploaded to one instance is processed by the scheduler into S3 and served by the
other; and a web worker killed under load loses no write that was answered.
"""

import contextlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from bench.mixed import MixedLoad, verify
from bench.servers import Servers
from hub.extensions import db
from hub.publishing.models import Entry, EntryStatus
from hub.sync.models import SyncRun
from tests.support import (
    TEST_SECRET_KEY,
    LoopbackServer,
    fresh_database,
    make_test_app,
    send,
    stop_process_group,
)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PARTNER_ROWS = 300
LOAD_SECONDS = 20
# The partner answers this late: the first scheduler holds the source's lease that long, and the
# second one, started meanwhile, finds it held.
PARTNER_DELAY = 10
MAPPING = {"partner_id": "id", "title": "name", "product_group": "group", "stars": "stars",
           "rating_scheme": "scheme", "rated_on": "rated_on"}  # fmt: skip


def _partner_csv():
    lines = ["id,name,group,scheme,stars,rated_on"]
    lines += [f"P-{k:05d},Gạo đối tác {k},food,ocop,{1 + k % 5},2025-02-01"
              for k in range(1, PARTNER_ROWS + 1)]  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


def _photo():
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def hub_database(tmp_path):
    """A migrated and seeded PostgreSQL schema of the test's own, with a VN token and the
    partner's source; yields ``(url, token header, source id)``."""
    from hub.api.auth import issue_token
    from hub.db import upgrade
    from hub.registry.seeding import seed_registry
    from hub.sync.services import add_source

    def slowly(handler):
        time.sleep(PARTNER_DELAY)
        send(handler, _partner_csv(), content_type="text/csv")

    partner = LoopbackServer(slowly)
    with fresh_database("postgresql", tmp_path) as url:
        app = make_test_app(url)
        try:
            with app.test_request_context("/"):
                upgrade(db.engine)
                seed_registry()
                _token, secret = issue_token("Load", "VN")
                settings = {"language": "vi", "mapping": MAPPING}
                source = add_source("VN", "csv", f"{partner.url}/products.csv", settings, 60)
            yield url, {"Authorization": f"Bearer {secret}"}, source.id, app
        finally:
            db.binding(app).engine.dispose()
            partner.close()


def _scheduler(env, log):
    return subprocess.Popen(
        [str(BIN / "hub"), "scheduler"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def _workers(master_pid):
    """The pids of gunicorn's workers: the master's children."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == master_pid:
                found.append(int(stat.parent.name))
    return found


def _follow(base, until, items):
    """The changes feed, followed from the start until ``until`` is set and it has no more."""
    since = 0
    with requests.Session() as session:
        while True:
            try:
                answer = session.get(f"{base}/api/v1/changes?since={since}&limit=500", timeout=30)
            except requests.ConnectionError:
                if until.is_set():
                    return  # the servers are gone (the test failed): nothing more to follow
                raise
            page = answer.json()
            for item in page["items"]:
                items[item["id"]] = item["seq"]
            since = page["next_since"]
            if not page["more"]:
                if until.is_set():
                    return
                time.sleep(0.2)


@pytest.mark.postgresql_only
def test_two_instances_and_the_scheduler_under_load(hub_database, redis_url, s3_server, tmp_path):
    import boto3

    url, headers, source_id, app = hub_database
    bucket = f"hub-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    common = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "HUB_DATABASE_URL": url,
        "HUB_SECRET_KEY": TEST_SECRET_KEY,
        "HUB_REDIS_URL": redis_url,
        "HUB_MEDIA_URL": f"s3://{bucket}/hub",
        "HUB_TRUSTED_HOSTS": "127.0.0.1",
        "HUB_API_RATE_LIMIT": "100000 per minute",
        "HUB_FETCH_ALLOW": "127.0.0.1",
    }
    envs = []
    for name in ("a", "b", "scheduler-1", "scheduler-2"):
        folder = tmp_path / name
        folder.mkdir()
        envs.append({**common, "HUB_INSTANCE_PATH": str(folder)})
    schedulers, done = [], threading.Event()
    with Servers(tmp_path) as servers:
        base_a = servers.gunicorn("web-a", "wsgi:app", env=envs[0], workers=2)
        base_b = servers.gunicorn("web-b", "wsgi:app", env=envs[1], workers=2)
        master_a = servers.procs[0][1].pid
        logs = [open(tmp_path / f"scheduler-{n}.log", "wb") for n in (1, 2)]  # noqa: SIM115
        try:
            schedulers.append(_scheduler(envs[2], logs[0]))
            load = MixedLoad([base_a, base_b], headers, seconds=LOAD_SECONDS, check_elsewhere=True)
            followed = {}
            follower = threading.Thread(target=_follow, args=(base_b, done, followed), daemon=True)
            follower.start()
            events = {}

            def meanwhile():
                time.sleep(2)
                photo = requests.post(
                    f"{base_a}/api/v1/products", json=_product(), headers=headers, timeout=30
                ).json()["id"]
                added = requests.post(
                    f"{base_a}/api/v1/products/{photo}/media", headers=headers, timeout=30,
                    files={"file": ("tea.jpg", _photo(), "image/jpeg")},
                )  # fmt: skip
                events["photo"] = (photo, added.status_code)
                time.sleep(2)
                schedulers.append(_scheduler(envs[3], logs[1]))  # a second one, by mistake
                time.sleep(4)
                victim = _workers(master_a)[0]
                os.kill(victim, signal.SIGKILL)  # one web process dies under load
                events["killed"] = victim

            side = threading.Thread(target=meanwhile, daemon=True)
            side.start()
            report = load.run()
            side.join(timeout=60)
            summary = report.summary()
            assert report.errors == [], summary
            assert report.writes > 50 and report.reads > 100, summary
            assert report.invisible == [], summary
            assert max(report.visible_after) < 1.0, summary
            assert verify(base_b, report) == []
            assert "killed" in events and events["photo"][1] == 202, events

            # The partner's sync ends, once, with every record.
            _wait(lambda: _runs(app, source_id) and _runs(app, source_id)[-1][0] != "running")
            runs = _runs(app, source_id)
            assert [status for status, *_ in runs] == ["ok"], runs
            # The photo is processed (by whichever scheduler claimed it) and served by b.
            photo_id = events["photo"][0]
            ready = _wait(lambda: _ready_media(base_b, photo_id))
            served = requests.get(ready["url"], timeout=30)
            assert served.status_code == 200 and served.content[:2] == b"\xff\xd8"

            done.set()
            follower.join(timeout=60)
            with app.app_context():
                published = dict(
                    db.session.execute(
                        select(Entry.id, Entry.change_seq).where(
                            Entry.status == EntryStatus.PUBLISHED
                        )
                    ).all()
                )
            assert followed == published
            # Every product accepted is there; at most the answers lost with the killed worker
            # add some that were written but never answered.
            written = len({entry_id for entry_id, *_ in report.accepted}) + PARTNER_ROWS + 1
            assert written <= len(published) <= written + report.lost
            assert all(process.poll() is None for process in schedulers)
        finally:
            done.set()
            for process in schedulers:
                stop_process_group(process, timeout=30)
            for log in logs:
                log.close()


def _product():
    from bench.mixed import product

    return product(0, "photo")


def _wait(condition, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.25)
    raise AssertionError(f"not within {seconds}s")


def _runs(app, source_id):
    with app.app_context():
        rows = db.session.execute(
            select(SyncRun.status, SyncRun.started_dt, SyncRun.finished_dt)
            .where(SyncRun.source_id == source_id)
            .order_by(SyncRun.id)
        ).all()
        db.session.rollback()
    return [tuple(row) for row in rows]


def _ready_media(base, entry_id):
    items = requests.get(f"{base}/api/v1/products/{entry_id}/media", timeout=30).json()["items"]
    return items[0] if items and items[0]["status"] == "ready" and items[0]["url"] else None
