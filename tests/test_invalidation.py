"""Cross-process cache invalidation through Redis (hub.invalidation): a write committed by
another process is seen at once, not when a timer runs out."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import time_machine

from hub import invalidation
from hub.extensions import db
from tests.support import TEST_SECRET_KEY, seeded_app

ROOT = Path(__file__).resolve().parent.parent
HUB = str(Path(sys.executable).parent / "hub")
LONG_TIMER_MS = 60_000  # no process re-reads the data version by itself during the test
# Cached answers are kept under the minute too: the clock runs from second 5 of one, so that no
# minute turns during a test (a new minute alone would show the write).
EARLY_IN_A_MINUTE = datetime(2026, 3, 1, 9, 30, 5, tzinfo=UTC)


def _status(client):
    response = client.get("/api/v1/countries/MW")
    assert response.status_code == 200
    return response.get_json()["membership_status"]


def _change_in_another_process(app, redis_url, tmp_path, status):
    """``hub membership`` run as an operator would, beside the server."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "HUB_DATABASE_URL": app.config["DATABASE_URL"],
        "HUB_SECRET_KEY": TEST_SECRET_KEY,
        "HUB_INSTANCE_PATH": str(tmp_path),
        **({"HUB_REDIS_URL": redis_url} if redis_url else {}),
    }
    done = subprocess.run(
        [HUB, "membership", "MW", "--status", status, "--on", "2025-03-01"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _seen_within(client, status, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _status(client) == status:
            return True
        time.sleep(0.02)
    return False


def test_a_write_in_another_process_is_seen_within_a_second(backend, tmp_path, redis_url):
    config = {"REDIS_URL": redis_url, "ANSWER_CACHE_FRESH_MS": LONG_TIMER_MS}
    with (
        seeded_app(backend, tmp_path, **config) as app,
        time_machine.travel(EARLY_IN_A_MINUTE, tick=True),
    ):
        try:
            assert invalidation.wait_connected(app)
            client = app.test_client()
            before = _status(client)
            assert _status(client) == before  # kept: answered from the cache
            _change_in_another_process(app, redis_url, tmp_path, "applicant")
            assert _seen_within(client, "applicant", 1.0)
        finally:
            app.extensions["hub.invalidation"].stop()


def test_without_redis_the_timer_decides(backend, tmp_path):
    """The control: the same write, no bus, a timer of a minute: the cached answer stays."""
    with (
        seeded_app(backend, tmp_path, ANSWER_CACHE_FRESH_MS=LONG_TIMER_MS) as app,
        time_machine.travel(EARLY_IN_A_MINUTE, tick=True),
    ):
        client = app.test_client()
        before = _status(client)
        _change_in_another_process(app, None, tmp_path, "applicant")
        assert not _seen_within(client, "applicant", 1.0)
        assert _status(client) == before
        with app.app_context():
            db.session.rollback()


def test_channels_are_per_database():
    one = invalidation.channel_name("postgresql+psycopg://hub:secret@db:5432/hub")
    assert one == invalidation.channel_name("postgresql+psycopg://hub:other@db:5432/hub")
    assert one != invalidation.channel_name("postgresql+psycopg://hub@db:5432/hub2")
    assert "secret" not in one
