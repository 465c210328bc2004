"""The end of a sync run: the source's state, validators, schedule and failure count, and the
refused records of its latest runs kept."""

import sys
from datetime import timedelta

from sqlalchemy import delete, select

from hub.accounts import notifications
from hub.db import utcnow
from hub.extensions import db
from hub.ops import metrics
from hub.sync.fetcher import RetryLater
from hub.sync.models import PAUSE_AFTER_FAILURES, RejectedRecord, SyncRun

KEEP_REFUSALS_OF_RUNS = 10
# Failures in a row after which the source's people are told it is failing (it is paused at
# PAUSE_AFTER_FAILURES, and they are told again).
FAILING_AFTER = 2


def _prune_refusals(source_id):
    """Keep the refused records of the source's latest runs only: the same bad rows are
    refused again by every run, and the table must not grow for ever."""
    keep = (
        select(SyncRun.id)
        .where(SyncRun.source_id == source_id)
        .order_by(SyncRun.id.desc())
        .limit(KEEP_REFUSALS_OF_RUNS)
        .subquery()
    )
    db.session.execute(
        delete(RejectedRecord).where(
            RejectedRecord.source_id == source_id, RejectedRecord.run_id.not_in(select(keep.c.id))
        )
    )


# A partner's Retry-After moves the next run no sooner than this: one that keeps answering
# "in a second" is not asked again every few seconds.
RETRY_LATER_AT_LEAST = timedelta(minutes=1)


def _retry_at(exc):
    """The moment a partner named in the ``RetryLater`` ``exc`` (or one of its causes), or None."""
    for _depth in range(10):  # a chain of causes is short (and must not loop)
        if exc is None or isinstance(exc, RetryLater):
            break
        exc = exc.__cause__ or exc.__context__
    return exc.retry_at if isinstance(exc, RetryLater) else None


def succeeded(source, run, new_state, validators):
    db.begin_write()
    now = utcnow()
    if new_state is not None:
        source.state = new_state
    if validators:
        source.etag = validators.get("etag")
        source.last_modified = validators.get("last_modified")
        # Only a run that took every record may stand for the document: one that refused
        # some must try them again (the registry or the hub's rules may have changed since).
        # A held run stands for its document too: the same bytes again change nothing, and the
        # decision on what it held stays with the administrators.
        complete = run.status == "ok" or (run.status == "held" and not run.rejected)
        source.content_digest = validators.get("content_digest") if complete else None
    source.consecutive_failures = 0
    source.last_success_dt = now
    source.next_run_dt = now + timedelta(minutes=source.interval_minutes)
    run.finished_dt = now
    db.session.add_all([source, run])
    _prune_refusals(source.id)
    if run.status == "held":
        _alert(source, "held", run.held)
    db.session.commit()
    count(source, run)


def failed(source, run, message, retry_at=None, said=None):
    """Record the run as failed: ``message`` in English (for logs and the API), ``said`` the
    same as facts (``{"code": …}``, see ``hub.sync.messages``), which the pages put into words in
    their reader's language. When the partner asked to be asked again later (a
    ``RetryLater``, given as ``retry_at`` or being handled now), the next run is at that moment
    and the failure does not count towards pausing the source: the partner is there, and busy."""
    if retry_at is None:
        retry_at = _retry_at(sys.exc_info()[1])
    db.begin_write()
    now = utcnow()
    run = db.session.merge(run)
    source = db.session.merge(source)
    run.status = "failed"
    run.error = message
    run.detail = said
    run.finished_dt = now
    if retry_at is None:
        source.consecutive_failures += 1
    source.last_error = message
    source.last_error_dt = now
    if retry_at is not None:
        source.next_run_dt = max(retry_at, now + RETRY_LATER_AT_LEAST)
    else:
        source.next_run_dt = now + timedelta(minutes=source.interval_minutes)
    if source.consecutive_failures >= PAUSE_AFTER_FAILURES:
        source.enabled = False
        source.paused_reason = message
        _alert(source, "paused", source.consecutive_failures, message)
    elif retry_at is None and source.consecutive_failures == FAILING_AFTER:
        _alert(source, "failing", source.consecutive_failures, message)
    db.session.commit()
    count(source, run)


def count(source, run):
    """Count the run, ended and committed, in the metrics (hub.ops.metrics): its outcome and
    its records by what became of them."""
    metrics.count_sync_run(
        source.kind, run.status, {name: getattr(run, name) or 0 for name in SyncRun.COUNTS}
    )


def _alert(source, state, count, reason=None):
    """Mail the source's country's coordinators and the administrators who want to hear of it
    (hub.accounts.notifications), in the run's transaction."""
    notifications.notify(
        "sources", source.country_code, "mail/sources.html",
        link=("sync.source", {"source_id": source.id}),
        state=state, count=count, reason=reason, source_url=source.url,
        source_country=source.country_code,
    )  # fmt: skip
