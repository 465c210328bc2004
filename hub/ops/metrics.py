"""The hub's Prometheus metrics, served at ``/metrics`` (docs/monitoring.md).

Counted where things happen: requests (hub.ops.observe), the answer cache's hits (hub.cache),
sync runs and their records (hub.sync.runs), scheduler jobs (hub.ops.observe), the database
pool's connections (pool events). Read from the database when scraped: the mail outbox, the
webhooks, the scheduler's heartbeat.

Under gunicorn every worker counts for itself: with ``PROMETHEUS_MULTIPROC_DIR`` set before
this module is imported (deploy/gunicorn.conf.py does it, hub.serving), each process writes its
values to files there and a scrape adds up every process's (prometheus_client's multiprocess
mode); a scheduler given the same folder adds its own. Without it (the tests, the development
server), one process's registry.

Labels stay few whatever the requests: routes are URL rules (``/api/v1/policies/<id:entry_id>``),
never paths; methods are the usual ones or ``other``.
"""

import hmac
import ipaddress
import os

from flask import current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event, exists, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

from hub import cache
from hub.db import utcnow
from hub.extensions import db

# Decided once, as prometheus_client decides it when imported.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUESTS = Counter(
    "hub_http_requests", "Requests answered, by route, method and status.",
    ("route", "method", "status"),
)  # fmt: skip
REQUEST_SECONDS = Histogram(
    "hub_http_request_duration_seconds",
    "Time to answer a request (until its answer is ready to send), by route and method.",
    ("route", "method"),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE_HITS = Counter(
    "hub_answer_cache_hits", "Answers served from the answer cache, by layer.", ("layer",)
)
CACHE_MISSES = Counter(
    "hub_answer_cache_misses",
    "Cacheable answers made because the answer cache had none, by layer.",
    ("layer",),
)
SYNC_RUNS = Counter(
    "hub_sync_runs", "Sync runs ended, by connector kind and outcome.", ("kind", "outcome")
)
SYNC_RECORDS = Counter(
    "hub_sync_records",
    "Records of ended sync runs, by connector kind and what became of them.",
    ("kind", "result"),
)
JOBS = Counter("hub_scheduler_jobs", "Scheduler job runs, by job and outcome.", ("job", "outcome"))
JOB_SECONDS = Histogram(
    "hub_scheduler_job_duration_seconds",
    "Time a scheduler job run took, by job.",
    ("job",),
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900),
)
POOL_CHECKED_OUT = Gauge(
    "hub_db_pool_checked_out",
    "Database connections in use, every process together.",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "hub_db_pool_size",
    "Database connections the pools keep, every process together.",
    multiprocess_mode="livesum",
)

# Made once: labels() costs more than inc(), and replays are counted too.
_cache_children = {
    (layer, hit): (CACHE_HITS if hit else CACHE_MISSES).labels(layer)
    for layer in ("replay", "view")
    for hit in (True, False)
}


@cache.lookup_observer
def _count_lookup(layer, hit):
    _cache_children[layer, hit].inc()


METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
_request_children = {}


def count_request(route, method, status, seconds):
    """One answered request: ``status`` the three digits of its status line."""
    if method not in METHODS:
        method = "other"
    key = (route, method, status)
    children = _request_children.get(key)
    if children is None:
        children = _request_children.setdefault(
            key, (REQUESTS.labels(route, method, status), REQUEST_SECONDS.labels(route, method))
        )
    children[0].inc()
    children[1].observe(seconds)


def count_job(job, outcome, seconds):
    JOBS.labels(job, outcome).inc()
    JOB_SECONDS.labels(job).observe(seconds)


def count_sync_run(kind, outcome, counts):
    """A sync run that ended with ``outcome`` (its status), ``counts`` its records by result."""
    SYNC_RUNS.labels(kind, outcome).inc()
    for result, number in counts.items():
        if number:
            SYNC_RECORDS.labels(kind, result).inc(number)


def init_app(app):
    """Follow the app's database pool: its connections in use and its size."""
    pool = db.binding(app).engine.pool
    if isinstance(pool, QueuePool):  # the default for a file or a server (not for :memory:)
        POOL_SIZE.set(pool.size())
    event.listen(pool, "checkout", _checked_out)
    event.listen(pool, "checkin", _checked_in)


def _checked_out(*_args):
    POOL_CHECKED_OUT.inc()


def _checked_in(*_args):
    POOL_CHECKED_OUT.dec()


def process_ended(pid=None):
    """Forget the gauges of a process that ended (``pid``, else this one), in multiprocess
    mode: its connections are in use no more. (Its counts stay: a total never goes down.)"""
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


def may_read():
    """Whether this request may read the metrics: it carries ``HUB_METRICS_TOKEN`` as a bearer
    token, or comes from an address of ``HUB_METRICS_ALLOW`` (as ProxyFix gives it, with
    ``HUB_PROXY_COUNT`` proxies in front)."""
    config = current_app.config
    token = config["METRICS_TOKEN"]
    given = request.headers.get("Authorization", "")
    if token and given[:7].lower() == "bearer ":
        return hmac.compare_digest(given[7:].strip().encode(), token.encode())
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in config["METRICS_ALLOW"])


def exposition():
    """The metrics in Prometheus' text format: ``(body, content type)``."""
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_DatabaseGauges())
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _ThisProcess:
    def collect(self):
        return REGISTRY.collect()


class _DatabaseGauges:
    """What the database holds, read at each scrape (the same for every process)."""

    def collect(self):
        try:
            yield from self._gauges()
        except SQLAlchemyError:
            db.session.rollback()
            current_app.logger.warning("metrics: the database could not be read", exc_info=True)

    def _gauges(self):
        from hub.ops.health import heartbeat_age
        from hub.outbox.models import MailMessage, MailStatus
        from hub.publishing.models import Entry
        from hub.webhooks.models import Webhook

        mail = dict(
            db.session.execute(
                select(MailMessage.status, func.count())
                .where(MailMessage.status.in_((MailStatus.PENDING, MailStatus.FAILED)))
                .group_by(MailMessage.status)
            ).all()
        )
        family = GaugeMetricFamily(
            "hub_outbox_mail", "Mail messages waiting to be sent or failed.", labels=("status",)
        )
        for status in (MailStatus.PENDING, MailStatus.FAILED):
            family.add_metric((str(status),), mail.get(status, 0))
        yield family

        changes_waiting = exists().where(
            Entry.change_seq > Webhook.cursor,
            (Webhook.country_code.is_(None)) | (Entry.country_code == Webhook.country_code),
        )
        behind, failing, stopped = db.session.execute(
            select(
                func.count().filter(Webhook.enabled.is_(True), changes_waiting),
                func.count().filter(Webhook.enabled.is_(True), Webhook.failures > 0),
                func.count().filter(Webhook.enabled.is_(False)),
            )
        ).one()
        family = GaugeMetricFamily(
            "hub_outbox_webhooks",
            "Webhooks with changes waiting to be delivered, failing, or stopped.",
            labels=("state",),
        )
        for state, count in (("waiting", behind), ("failing", failing), ("stopped", stopped)):
            family.add_metric((state,), count)
        yield family

        age = heartbeat_age(utcnow())
        if age is not None:
            yield GaugeMetricFamily(
                "hub_scheduler_heartbeat_age_seconds",
                "Seconds since a scheduler last said it was running.",
                value=age,
            )
        db.session.rollback()
