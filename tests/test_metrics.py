"""/metrics: Prometheus' text format, what it counts, who may read it, and gunicorn's workers
added up (multiprocess mode)."""

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from hub import create_app
from hub.config import ConfigError
from hub.db import make_engine
from hub.extensions import db
from hub.outbox import mail
from hub.sync import pipeline
from hub.sync.models import PartnerSource
from tests.support import stop_process_group

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = secrets.token_urlsafe(32)


def parse(text):
    """Every sample of a scrape: ``{(name, ((label, value), …)): value}``."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client, **kwargs):
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    assert response.headers["Cache-Control"] == "no-store"
    return parse(response.get_data(as_text=True))


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_request_is_counted_by_route_and_status_with_its_duration(client):
    before = scrape(client)
    assert client.get("/healthz").status_code == 200
    assert client.get("/en/policies/2147483647").status_code == 404
    after = scrape(client)
    healthz = {"route": "/healthz", "method": "GET"}
    assert value(after, "hub_http_requests_total", **healthz, status="200") == (
        value(before, "hub_http_requests_total", **healthz, status="200") + 1
    )
    count = "hub_http_request_duration_seconds_count"
    assert value(after, count, **healthz) == value(before, count, **healthz) + 1
    # A 404 of a route that matched is counted under its rule, never under its path.
    entry = "/<lang>/<any(policies, experiences, fairs, products):collection>/<id:entry_id>"
    rule = {"route": entry, "method": "GET", "status": "404"}
    assert value(after, "hub_http_requests_total", **rule) == (
        value(before, "hub_http_requests_total", **rule) + 1
    )
    assert not any("2147483647" in str(labels) for _name, labels in after)


def test_paths_that_match_nothing_are_one_label(client):
    before = scrape(client)
    for path in ("/no-such-page-1", "/no/such/page/2.php", "/%C3%A9"):
        client.get(path)
    after = scrape(client)
    unmatched = [key for key in after if ("route", "(unmatched)") in key[1]]
    assert unmatched and not any("no-such" in str(labels) for _name, labels in after)
    total = sum(after[key] - before.get(key, 0) for key in unmatched if key[0].endswith("_total"))
    assert total == 3


def test_a_replayed_answer_is_counted_under_its_route_and_as_a_cache_hit(client):
    url = "/api/v1/countries?lang=en"
    client.get(url)  # made, and kept
    before = scrape(client)
    again = client.get(url)
    after = scrape(client)
    assert again.status_code == 200
    route = {"route": "/api/v1/countries", "method": "GET", "status": "200"}
    assert value(after, "hub_http_requests_total", **route) == (
        value(before, "hub_http_requests_total", **route) + 1
    )
    hits = "hub_answer_cache_hits_total"
    assert value(after, hits, layer="replay") == value(before, hits, layer="replay") + 1


def test_sync_runs_are_counted_by_outcome_and_their_records_by_result(app, client, tokens):
    record = {
        "source_language": "vi",
        "status": "published",
        "translations": {"vi": {"title": "Chè Shan tuyết"}},
        "product_group": "beverages",
    }
    before = scrape(client)
    answer = client.post(
        "/api/v1/ingest",
        json={
            "records": [
                {"id": "tea-1", "collection": "products", "record": record},
                {"id": "tea-2", "collection": "products", "record": {"status": "nonsense"}},
            ]
        },
        headers=tokens["VN"],
    )
    assert answer.status_code == 200 and answer.get_json()["status"] == "partial"
    with app.test_request_context("/"):
        # A partner the fetcher may not reach (loopback): the run fails.
        source = PartnerSource(country_code="VN", kind="jsonfeed", url="http://127.0.0.1:9/")
        db.session.add(source)
        db.session.commit()
        assert pipeline.run_source(source.id).status == "failed"
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("hub_sync_runs_total", kind="push", outcome="partial") == 1
    assert grew("hub_sync_records_total", kind="push", result="created") == 1
    assert grew("hub_sync_records_total", kind="push", result="rejected") == 1
    assert grew("hub_sync_runs_total", kind="jsonfeed", outcome="failed") == 1


def test_mail_waiting_and_the_pools_connections_are_shown(app, client):
    before = scrape(client)
    with app.test_request_context("/"):
        db.begin_write()
        mail.queue("test", "someone@example.org", "en", "mail/test.html", home_url="http://x/")
        db.session.commit()
    after = scrape(client)
    pending = value(after, "hub_outbox_mail", status="pending")
    assert pending == value(before, "hub_outbox_mail", status="pending") + 1
    assert ("hub_outbox_mail", (("status", "failed"),)) in after
    assert ("hub_outbox_webhooks", (("state", "waiting"),)) in after
    assert value(after, "hub_db_pool_size") >= 1
    assert ("hub_db_pool_checked_out", ()) in after


def test_only_loopback_reads_the_metrics_by_default(client):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outside.status_code == 404
    assert b"hub_" not in outside.data
    ipv6 = client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"})
    assert ipv6.status_code == 200


def test_a_bearer_of_the_token_reads_them_from_anywhere(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    scrape(client, environ_base=outside, headers={"Authorization": f"Bearer {TOKEN}"})
    for wrong in (f"Bearer {TOKEN[:-1]}", "Bearer ", f"Basic {TOKEN}", TOKEN):
        answer = client.get("/metrics", environ_base=outside, headers={"Authorization": wrong})
        assert answer.status_code == 404, wrong


def test_the_allowed_networks_are_a_setting(app, client, monkeypatch):
    monkeypatch.setenv("HUB_SECRET_KEY", TOKEN)
    monkeypatch.setenv("HUB_METRICS_ALLOW", "10.0.0.0/8, 203.0.113.9")
    allowed = create_app({"TESTING": True}).config["METRICS_ALLOW"]
    monkeypatch.setitem(app.config, "METRICS_ALLOW", allowed)
    for address, status in (("203.0.113.9", 200), ("10.1.2.3", 200), ("127.0.0.1", 404)):
        answer = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
        assert answer.status_code == status, address
    monkeypatch.setenv("HUB_METRICS_ALLOW", "none")
    assert create_app({"TESTING": True}).config["METRICS_ALLOW"] == ()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_METRICS_ALLOW", "10.0.0.0/33"),
        ("HUB_METRICS_ALLOW", "localhost"),
        ("HUB_METRICS_TOKEN", "short"),
        ("HUB_READY_SCHEDULER_SECONDS", "soon"),
        ("HUB_LOG_FORMAT", "xml"),
    ],
)
def test_a_setting_that_makes_no_sense_stops_the_app(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        create_app({"TESTING": True})


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(folder, env, workers=2):
    """A gunicorn with deploy/gunicorn.conf.py serving the hub; yields its base URL."""
    port = _free_port()
    argv = [str(BIN / "gunicorn"), "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "wsgi:app"]  # fmt: skip
    log_path = folder / "gunicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                assert proc.poll() is None, log_path.read_text()
                try:
                    requests.get(base + "/healthz", timeout=2)
                    break
                except requests.RequestException:
                    time.sleep(0.1)
            else:
                pytest.fail("gunicorn did not answer within 30 s")
            yield base
        finally:
            stop_process_group(proc)


def test_gunicorns_workers_are_added_up(tmp_path):
    instance, metrics = tmp_path / "instance", tmp_path / "metrics"
    instance.mkdir()
    metrics.mkdir()
    (metrics / "counter_999999999.db").write_bytes(b"")  # a process long gone: removed at start
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_INSTANCE_PATH=str(instance),
        HUB_SECRET_KEY=secrets.token_urlsafe(48),
        PROMETHEUS_MULTIPROC_DIR=str(metrics),
    )
    migrate = [sys.executable, "-c", "from hub.cli import main; main()", "migrate"]
    done = subprocess.run(migrate, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    engine = make_engine(f"sqlite:///{instance / 'hub.sqlite3'}")
    pool_size = engine.pool.size()
    engine.dispose()
    with gunicorn(tmp_path, env) as base:
        assert not (metrics / "counter_999999999.db").exists()
        before = parse(requests.get(base + "/metrics", timeout=10).text)
        asked = 40
        for _ in range(asked):  # a connection each: both workers take some
            requests.get(base + "/healthz", timeout=10, headers={"Connection": "close"})
        after = parse(requests.get(base + "/metrics", timeout=10).text)
        writers = {path.stem.rpartition("_")[2] for path in metrics.glob("counter_*.db")}
    healthz = {"route": "/healthz", "method": "GET", "status": "200"}
    grew = value(after, "hub_http_requests_total", **healthz) - value(
        before, "hub_http_requests_total", **healthz
    )
    assert grew == asked  # whichever worker answered the scrape
    assert value(after, "hub_db_pool_size") == 2 * pool_size  # each worker's pool, added up
    assert len(writers) >= 2
