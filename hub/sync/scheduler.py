"""The scheduler: APScheduler 3.x in a process of its own (``flask --app wsgi hub scheduler``).

One job per enabled source, with an explicit id (``source-<id>``), ``coalesce`` (a backlog of
missed runs becomes one run), ``max_instances=1`` and a misfire grace; a refresh job keeps the
jobs in step with the sources in the database. Jobs run in a small thread pool, and each run has
a deadline, so one stuck partner cannot hold up the others.

A second scheduler started by mistake is harmless: before running a source, a scheduler takes its
lease in the database (one conditional UPDATE, atomic on SQLite and PostgreSQL); while the lease
is held by another, the source is skipped. ``hub sync`` and an administrator's "Sync now" take the
same lease, under an owner name that says who they are (``scheduler:…``, ``cli:…``, ``web:<user
id>``), so that the one turned away can say who has the source.

A lease lasts the run's deadline and ``LEASE_MARGIN``: a process killed in the middle of a run
leaves a lease that expires by then, and the next run, taking it, closes the dead run as
"interrupted".

A source's ``next_run_dt`` is when it is due: its job runs it no earlier (a partner's
``Retry-After`` moves it), and after each run the job is moved to the new ``next_run_dt``.

A job of its own runs the webhooks' dispatcher every minute (``hub.webhooks.delivery``), one
sends the mail outbox every few seconds (``hub.outbox.delivery``: each message claimed first), and
another purges the trash every hour (``hub.publishing.trash``: entries deleted ``HUB_TRASH_DAYS``
days ago or more, in bounded batches). Two more look after the media (``hub.media.services``):
``process-media`` makes the variants of pending uploads every few seconds (each claimed first,
so two schedulers never process one twice), and ``clean-media`` removes orphans every hour.
"""

import contextlib
import os
import signal
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import current_app
from sqlalchemy import or_, select, update

from hub.db import utcnow
from hub.extensions import db
from hub.ops import health
from hub.ops.observe import observed_job
from hub.outbox import delivery as mail_delivery
from hub.sync import media as partner_media
from hub.sync import pipeline
from hub.sync.models import PartnerSource, SyncRun
from hub.sync.pipeline import LeaseLost

REFRESH_SECONDS = 60
WEBHOOK_SECONDS = 60  # the webhooks' dispatcher runs this often
TRASH_SECONDS = 3600  # the trash is purged this often
MEDIA_SECONDS = 5  # pending uploads are looked for this often (their variants appear soon after)
DIGEST_SECONDS = 3600  # due digests are looked for this often (hub.digests)
MEDIA_CLEANUP_SECONDS = 3600  # orphan media and files are removed this often
RUN_DEADLINE = timedelta(minutes=15)  # a run stops fetching and writing after this
# The lease outlives the run's deadline by this much: enough for the fetch or the batch under
# way when the deadline passes to end (a fetch has a deadline of its own, the fetcher's).
LEASE_MARGIN = timedelta(minutes=2)
DUE_TOLERANCE = timedelta(seconds=1)  # a job a little early for its source's next_run_dt runs

MISFIRE_GRACE_SECONDS = 300
# Who started a run (SyncRun.started_by), from its lease owner's prefix.
STARTERS = ("scheduler", "cli", "web")
INTERRUPTED = (
    "interrupted: the process running this sync ended before the run finished (it was stopped "
    "or killed); the run was closed when the next one began"
)


def owner_name(kind="scheduler"):
    """Who holds a lease: what it is (``scheduler``, ``cli``), host, process and a random part
    (two schedulers never share it)."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]


def starter(owner):
    """``"scheduler"``, ``"cli"`` or ``"web"``: what kind of owner ``owner`` is, or None."""
    kind = (owner or "").split(":", 1)[0]
    return kind if kind in STARTERS else None


def take_lease(source_id, owner, deadline=RUN_DEADLINE, paused_too=False, due_only=False):
    """Take the source's lease if nobody holds a live one; True if this owner now holds it.
    A scheduler takes enabled sources only, and only when they are due (``due_only``); an
    operator's "sync now" (``paused_too``) any. The runs of the source still "running" then
    belong to a process that died with its lease: they are closed as "interrupted".

    One short write transaction (on SQLite it waits its turn for the write lock, up to
    HUB_SQLITE_BUSY_TIMEOUT, instead of failing on a read begun earlier)."""
    db.begin_write()
    now = utcnow()
    conditions = [
        PartnerSource.id == source_id,
        PartnerSource.kind != "push",
        or_(PartnerSource.lease_until_dt.is_(None), PartnerSource.lease_until_dt < now),
    ]
    if not paused_too:
        conditions.append(PartnerSource.enabled.is_(True))
    if due_only:
        conditions.append(
            or_(
                PartnerSource.next_run_dt.is_(None),
                PartnerSource.next_run_dt <= now + DUE_TOLERANCE,
            )
        )
    result = db.session.execute(
        update(PartnerSource)
        .where(*conditions)
        .values(lease_owner=owner, lease_until_dt=now + deadline + LEASE_MARGIN)
    )
    taken = result.rowcount == 1
    if taken:
        close_interrupted(source_id, now)
    db.session.commit()
    return taken


def close_interrupted(source_id, now=None):
    """Close the source's runs still marked "running" as "interrupted", with the reason; called
    by the holder of its lease (no live run of the source can be going on). Their counts stay:
    the batches they committed are written."""
    db.session.execute(
        update(SyncRun)
        .where(SyncRun.source_id == source_id, SyncRun.status == "running")
        .values(
            status="interrupted",
            finished_dt=now or utcnow(),
            error=INTERRUPTED,
            detail={"code": "interrupted"},
        )
        .execution_options(synchronize_session=False)
    )


def lease_holder(source_id):
    """The owner of the source's live lease, or None."""
    db.session.rollback()  # a fresh look, not a snapshot taken earlier
    return db.session.scalar(
        select(PartnerSource.lease_owner).where(
            PartnerSource.id == source_id, PartnerSource.lease_until_dt >= utcnow()
        )
    )


def renew_lease(source_id, owner, deadline=RUN_DEADLINE):
    """Check, in the batch's transaction, that the lease is still this owner's; ``LeaseLost`` if
    another owner holds it now. It is not lengthened: a run ends by its deadline, and the lease
    of a killed process must expire by then (and ``LEASE_MARGIN``)."""
    result = db.session.execute(
        update(PartnerSource)
        .where(PartnerSource.id == source_id, PartnerSource.lease_owner == owner)
        .values(lease_owner=owner)
    )
    if result.rowcount != 1:
        raise LeaseLost(source_id)


def release_lease(source_id, owner):
    db.begin_write()
    db.session.execute(
        update(PartnerSource)
        .where(PartnerSource.id == source_id, PartnerSource.lease_owner == owner)
        .values(lease_owner=None, lease_until_dt=None)
    )
    db.session.commit()


def run_if_free(
    source_id, owner, deadline=RUN_DEADLINE, paused_too=False, due_only=False, started_by=None
):
    """Run the source under its lease (checked with every batch); returns the run, or None if
    another scheduler or operator has it (or, with ``due_only``, it is not due yet).
    ``started_by`` defaults to the kind of ``owner``."""
    if not take_lease(source_id, owner, deadline, paused_too, due_only):
        return None
    try:
        return pipeline.run_source(
            source_id,
            deadline=deadline,
            keep_lease=lambda: renew_lease(source_id, owner, deadline),
            started_by=started_by or starter(owner),
        )
    finally:
        release_lease(source_id, owner)


class SyncScheduler:
    """The jobs of one scheduler process, bound to a Flask app."""

    def __init__(self, app, blocking=True, workers=4, owner=None):
        self.app = app
        self.owner = owner or owner_name()
        self.stopping = threading.Event()  # set when the process is asked to stop
        scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
        self.scheduler = scheduler_class(
            # The heartbeat has a thread of its own: sync runs filling the others must not
            # make a running scheduler look dead (hub.ops.health).
            executors={"default": ThreadPoolExecutor(workers), "heartbeat": ThreadPoolExecutor(1)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
            timezone="UTC",
        )

    def start(self, paused=False):
        """Add the jobs and start; ``paused``: none runs until ``scheduler.resume()`` (a test
        that only looks at the jobs)."""
        self.refresh()
        for job, seconds, job_id in (
            (self.refresh, REFRESH_SECONDS, "refresh-sources"),
            (self.deliver_webhooks, WEBHOOK_SECONDS, "deliver-webhooks"),
            (self.deliver_mail, mail_delivery.MAIL_SECONDS, "deliver-mail"),
            (self.send_digests, DIGEST_SECONDS, "send-digests"),
            (self.purge_trash, TRASH_SECONDS, "purge-trash"),
            (self.process_media, MEDIA_SECONDS, "process-media"),
            (self.clean_media, MEDIA_CLEANUP_SECONDS, "clean-media"),
            (self.fetch_pushed_media, partner_media.PUSH_SECONDS, "fetch-pushed-media"),
        ):
            # Mail waiting when the scheduler (re)starts goes at once, not a period later.
            first = {"next_run_time": datetime.now(UTC)} if job_id == "deliver-mail" else {}
            self.scheduler.add_job(
                observed_job(job_id, job, every=seconds), "interval", seconds=seconds,
                id=job_id, replace_existing=True, **first,
            )  # fmt: skip
        self.scheduler.add_job(
            observed_job("heartbeat", self.beat, every=health.HEARTBEAT_SECONDS), "interval",
            seconds=health.HEARTBEAT_SECONDS, id="heartbeat", replace_existing=True,
            executor="heartbeat", next_run_time=datetime.now(UTC),
        )  # fmt: skip
        self.scheduler.start(paused=paused)

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
                # Moved by a run elsewhere (``hub sync``, "Sync now", a Retry-After): follow it.
                self._move(job, next_run, now)
                continue
            self.scheduler.add_job(
                observed_job(job_id, self.run_source, label="source"), "interval", args=[sid],
                id=job_id, replace_existing=True, minutes=minutes,
                next_run_time=max(next_run or now, now),
            )  # fmt: skip

    def run_source(self, source_id):
        """The job of a source: run it if it is due and free, then move the job to the source's
        next run (``next_run_dt``: the interval after this run, or a partner's Retry-After)."""
        with self.app.app_context():
            run_if_free(source_id, self.owner, due_only=True)
            next_run = db.session.scalar(
                select(PartnerSource.next_run_dt).where(PartnerSource.id == source_id)
            )
            db.session.rollback()
        job = self.scheduler.get_job(f"source-{source_id}")
        if job is not None:
            self._move(job, next_run, utcnow())

    def _move(self, job, next_run, now):
        """Make ``job`` next fire at ``next_run`` if that is in the future and not already when
        it fires."""
        if next_run is None or next_run <= now:
            return
        current = job.next_run_time
        if current is not None and abs(current - next_run) <= DUE_TOLERANCE:
            return
        with contextlib.suppress(JobLookupError):
            self.scheduler.modify_job(job.id, next_run_time=next_run)

    def beat(self):
        """Say that this scheduler is running (hub.ops.health)."""
        with self.app.app_context():
            health.beat(self.owner)

    def deliver_webhooks(self):
        """One bounded run of the webhooks' dispatcher (hub.webhooks.delivery)."""
        from hub.webhooks import delivery

        with self.app.app_context():
            delivery.deliver()

    def deliver_mail(self):
        """One bounded run over the mail outbox (hub.outbox.delivery)."""
        with self.app.app_context():
            mail_delivery.deliver(stop=self.stopping)

    def send_digests(self):
        """Queue the daily and weekly digests that are due (hub.digests)."""
        from hub import digests

        with self.app.app_context():
            digests.send_due()

    def purge_trash(self):
        """One bounded purge of the trash: every package's (hub.history.trash)."""
        from hub.history import trash

        with self.app.app_context():
            trash.purge()

    def process_media(self):
        """One bounded run of the media processing (hub.media.services.process_pending)."""
        from hub.media import services as media

        with self.app.app_context():
            media.process_pending(owner=self.owner)

    def clean_media(self):
        """Remove orphan media and files (hub.media.services.cleanup_orphans)."""
        from hub.media import services as media

        with self.app.app_context():
            media.cleanup_orphans()

    def fetch_pushed_media(self):
        """Fetch the media of pushed records (hub.sync.media.fetch_pushed)."""
        with self.app.app_context():
            partner_media.fetch_pushed(owner=self.owner)


def run_scheduler():
    """Run the scheduler in the foreground until interrupted (Ctrl-C) or asked to stop
    (SIGTERM, as systemd and container runtimes stop a service): no job starts any more, a mail
    delivery under way ends after the message in flight, and the process exits once the jobs
    under way have (as on Ctrl-C; a sync run that is killed meanwhile is closed as interrupted
    by the next one)."""
    app = current_app._get_current_object()
    scheduler = SyncScheduler(app, blocking=True)

    def stop(signum, frame):
        scheduler.stopping.set()
        scheduler.scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    scheduler.start()
