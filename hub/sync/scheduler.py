"""The scheduler: APScheduler 3.x in a process of its own (``flask --app wsgi hub scheduler``).

One job per enabled source, with an explicit id (``source-<id>``), ``coalesce`` (a backlog of
missed runs becomes one run), ``max_instances=1`` and a misfire grace; a refresh job keeps the
jobs in step with the sources in the database. Jobs run in a small thread pool, and each run has
a deadline, so one stuck partner cannot hold up the others.

A second scheduler started by mistake is harmless: before running a source, a scheduler takes its
lease in the database (one conditional UPDATE, atomic on SQLite and PostgreSQL); while the lease
is held by another, the source is skipped.

A job of its own runs the webhooks' dispatcher every minute (``hub.webhooks.delivery``).
"""

import os
import socket
import uuid
from datetime import timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import current_app
from sqlalchemy import or_, select, update

from hub.db import utcnow
from hub.extensions import db
from hub.sync import pipeline
from hub.sync.models import PartnerSource
from hub.sync.pipeline import LeaseLost

REFRESH_SECONDS = 60
WEBHOOK_SECONDS = 60  # the webhooks' dispatcher runs this often
RUN_DEADLINE = timedelta(minutes=15)  # a run stops fetching and writing after this
LEASE_MARGIN = timedelta(minutes=5)  # the lease outlives the run's deadline by this much

MISFIRE_GRACE_SECONDS = 300


def owner_name():
    """Who holds a lease: host, process and a random part (two schedulers never share it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def take_lease(source_id, owner, deadline=RUN_DEADLINE, paused_too=False):
    """Take the source's lease if nobody holds a live one; True if this owner now holds it.
    A scheduler takes enabled sources only; an operator's "sync now" (``paused_too``) any."""
    now = utcnow()
    conditions = [
        PartnerSource.id == source_id,
        PartnerSource.kind != "push",
        or_(PartnerSource.lease_until_dt.is_(None), PartnerSource.lease_until_dt < now),
    ]
    if not paused_too:
        conditions.append(PartnerSource.enabled.is_(True))
    result = db.session.execute(
        update(PartnerSource)
        .where(*conditions)
        .values(lease_owner=owner, lease_until_dt=now + deadline + LEASE_MARGIN)
    )
    db.session.commit()
    return result.rowcount == 1


def renew_lease(source_id, owner, deadline=RUN_DEADLINE):
    """Keep the lease while the run goes on; ``LeaseLost`` if another owner holds it now."""
    result = db.session.execute(
        update(PartnerSource)
        .where(PartnerSource.id == source_id, PartnerSource.lease_owner == owner)
        .values(lease_until_dt=utcnow() + deadline + LEASE_MARGIN)
    )
    if result.rowcount != 1:
        raise LeaseLost(source_id)


def release_lease(source_id, owner):
    db.session.execute(
        update(PartnerSource)
        .where(PartnerSource.id == source_id, PartnerSource.lease_owner == owner)
        .values(lease_owner=None, lease_until_dt=None)
    )
    db.session.commit()


def run_if_free(source_id, owner, deadline=RUN_DEADLINE, paused_too=False):
    """Run the source under its lease (renewed with every batch); returns the run, or None if
    another scheduler or operator has it."""
    if not take_lease(source_id, owner, deadline, paused_too):
        return None
    try:
        return pipeline.run_source(
            source_id, deadline=deadline, keep_lease=lambda: renew_lease(source_id, owner, deadline)
        )
    finally:
        release_lease(source_id, owner)


class SyncScheduler:
    """The jobs of one scheduler process, bound to a Flask app."""

    def __init__(self, app, blocking=True, workers=4, owner=None):
        self.app = app
        self.owner = owner or owner_name()
        scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
        self.scheduler = scheduler_class(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
            timezone="UTC",
        )

    def start(self):
        self.refresh()
        self.scheduler.add_job(
            self.refresh,
            "interval",
            seconds=REFRESH_SECONDS,
            id="refresh-sources",
            replace_existing=True,
        )
        self.scheduler.add_job(
            self.deliver_webhooks,
            "interval",
            seconds=WEBHOOK_SECONDS,
            id="deliver-webhooks",
            replace_existing=True,
        )
        self.scheduler.start()

    def shutdown(self):
        self.scheduler.shutdown(wait=True)

    def refresh(self):
        """Add, change and remove source jobs to match the enabled sources."""
        with self.app.app_context():
            sources = db.session.execute(
                select(
                    PartnerSource.id, PartnerSource.interval_minutes, PartnerSource.next_run_dt
                ).where(PartnerSource.enabled.is_(True), PartnerSource.kind != "push")
            ).all()
        wanted = {f"source-{sid}": (sid, minutes, next_run) for sid, minutes, next_run in sources}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("source-") and job.id not in wanted:
                job.remove()
        now = utcnow()
        for job_id, (sid, minutes, next_run) in wanted.items():
            job = self.scheduler.get_job(job_id)
            interval = timedelta(minutes=minutes)
            if job is not None and getattr(job.trigger, "interval", None) == interval:
                continue
            self.scheduler.add_job(
                self.run_source, "interval", args=[sid], id=job_id, replace_existing=True,
                minutes=minutes, next_run_time=max(next_run or now, now),
            )  # fmt: skip

    def run_source(self, source_id):
        with self.app.app_context():
            run_if_free(source_id, self.owner)

    def deliver_webhooks(self):
        """One bounded run of the webhooks' dispatcher (hub.webhooks.delivery)."""
        from hub.webhooks import delivery

        with self.app.app_context():
            delivery.deliver()


def run_scheduler():
    """Run the scheduler in the foreground until interrupted."""
    app = current_app._get_current_object()
    SyncScheduler(app, blocking=True).start()
