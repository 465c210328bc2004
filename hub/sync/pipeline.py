"""A source's sync run: the ingest pipeline every connector goes through.

The connector's records stream through in batches, each read while the one before is written
(and, in a large run, prepared by a worker process, ``prepare``). Each batch is validated and
written by ``batches``, as a push to ``POST /api/v1/ingest`` is, and commits on its own; a
snapshot is read whole before its first batch is written, and a run that fails deletes nothing.
The source's state (cursor, HTTP validators) advances only after the whole run has committed.

Its parts: ``batches`` (validating and writing one batch, with its refusals and revisions),
``snapshots`` (reading a snapshot whole, and what it deletes or holds), ``lookups`` (entries by
partner id), ``origins`` (entries that came from another hub), ``rows`` (writing many rows at
once) and ``runs`` (how a run ends: the source's state, schedule and failures).
"""

import functools
from collections import deque
from dataclasses import dataclass, field

from flask import current_app

import connectors  # noqa: F401  (registers the built-in kinds)
from connectors.base import (
    INCOMPLETE,
    KEEP,
    RESYNCED,
    ConnectorError,
    SettingsError,
    UnknownConnectorKind,
    get_connector,
)
from hub.db import utcnow
from hub.extensions import db
from hub.sync import batches, messages, prepare, snapshots
from hub.sync import media as partner_media
from hub.sync.fetcher import Fetcher, FetchError
from hub.sync.lookups import has_entries, stored_fingerprints
from hub.sync.models import PartnerSource, SyncRun
from hub.sync.names import product_names
from hub.sync.rows import BATCH_SIZE
from hub.sync.runs import failed, succeeded
from hub.urls import origin_url


class LeaseLost(Exception):
    """Another scheduler holds the source now: this run stops writing."""


class NotModified(Exception):
    """The source's document has not changed since the last run (HTTP 304)."""


@dataclass
class SourceClient:
    """What a connector gets to reach its source: the fetcher, with the source's validators
    for its main document."""

    fetcher: Fetcher
    source: PartnerSource
    stop_at: object = None  # the run's deadline, a UTC datetime
    # The main document is the whole dataset (``Connector.single_document``): the same bytes
    # as the last run that took all of them end the run as "not modified", like a 304.
    single_document: bool = False
    validators: dict = field(default_factory=dict)
    responses: list = field(default_factory=list)  # closed when the run ends
    # This hub's own address (HUB_BASE_URL; None if unset), for connectors that speak to other
    # hubs (the ``hub`` connector asks them to leave out what this hub sent them).
    hub_url: str | None = field(default_factory=lambda: origin_url())

    @functools.cached_property
    def vocabulary(self):
        """The hub's names for fields and values in each of its languages (``hub.sync.names``)."""
        return product_names()

    def close(self):
        for response in self.responses:
            response.close()

    def get(self, url, conditional=False, accept=()):
        """Fetch ``url``; ``conditional=True`` for the source's main document: a 304 (or, for a
        single-document source, the bytes of the last complete run) ends the run as "not
        modified", and the new validators are saved when the run succeeds. ``accept``: 4xx
        statuses the connector reads itself (the answer is returned)."""
        if self.stop_at is not None and utcnow() >= self.stop_at:
            raise FetchError("the run took longer than its deadline", url, code="run_deadline")
        if conditional:
            response = self.fetcher.get(
                url, etag=self.source.etag, last_modified=self.source.last_modified
            )
            self.responses.append(response)
            if response.not_modified:
                raise NotModified(url)
            digest = response.digest if self.single_document else None
            if digest is not None and digest == self.source.content_digest:
                raise NotModified(url)
            self.validators = {
                "etag": response.etag,
                "last_modified": response.last_modified,
                "content_digest": digest,
            }
            return response
        response = self.fetcher.get(url, accept=accept)
        self.responses.append(response)
        return response


def _make_fetcher():
    config = current_app.config
    return Fetcher(allow=config["FETCH_ALLOW"], deadline=config.get("FETCH_DEADLINE", 60))


def run_source(source_id, fetcher=None, deadline=None, keep_lease=None, started_by=None):
    """Sync one source now; returns its ``SyncRun``. With ``deadline`` (a timedelta), the run
    stops fetching once it has taken that long, and fails. ``keep_lease`` is called in each
    batch's transaction; it raises if the run must stop (the lease was lost). ``started_by``:
    who asked ("scheduler", "cli", "web"), kept with the run."""
    db.begin_write()
    source = db.session.get(PartnerSource, source_id)
    if source is None:
        raise LookupError(source_id)
    run = SyncRun(source_id=source.id, status="running", started_by=started_by)
    db.session.add(run)
    db.session.commit()
    own_fetcher = fetcher is None
    fetcher = fetcher or _make_fetcher()
    client = SourceClient(
        fetcher, source, stop_at=None if deadline is None else utcnow() + deadline
    )
    seen = set()
    wanted = partner_media.Wanted()
    preparer = prepare.Preparer(source.country_code, prepare.worker_after())
    try:
        connector = get_connector(source.kind)
        client.single_document = connector.single_document
        settings = connector.validate_settings(source.settings or {})
        reader = connector.read(client, {**settings, "url": source.url}, dict(source.state or {}))
        snapshot = connector.full_snapshot
        alive_before = snapshots.alive_count(source.id)
        fresh = not alive_before and not has_entries(source.id)
        # A snapshot is all or nothing: it is read to its end before a record is written, so
        # a document that breaks half-way (not UTF-8 after 3 000 rows) changes nothing.
        new_state = _consume(
            reader,
            source,
            run,
            seen,
            client,
            keep_lease,
            preparer,
            held=alive_before > 0,
            whole=snapshot,
            wanted=wanted,
            fresh=fresh,
        )
        cut_short = new_state.pop(INCOMPLETE, None)
        # An incremental source read again from its start (its partner's history started
        # again): complete, it stands for the whole dataset, as a snapshot does.
        snapshot = new_state.pop(RESYNCED, None) is True or snapshot
        if cut_short is not None:
            # Pages left unread, datasets missing from a portal's list: nothing may be taken
            # as deleted, and the run says it was cut short.
            db.begin_write()
            run.status, run.detail = "incomplete", _facts(cut_short)
        elif snapshot:
            # A complete snapshot: what the partner no longer lists was deleted there, unless
            # the run took nothing or the source would shrink sharply (then it is held).
            kept = new_state.pop(KEEP, None)
            snapshots.settle_missing(
                source, run, seen, alive_before, keep_lease, snapshots.kept_clause(kept)
            )
    except NotModified:
        db.begin_write()
        run.status = "not_modified"
        succeeded(source, run, None, {})
    except (ConnectorError, FetchError, ValueError, LookupError, LeaseLost) as exc:
        said = _said(exc, source.kind)
        db.session.rollback()
        failed(source, run, str(exc), said=said)
    except Exception as exc:
        # Whatever broke, the run is recorded as failed and the next source still runs.
        db.session.rollback()
        current_app.logger.exception("sync of source %s failed", source_id)
        name = exc.__class__.__name__
        failed(
            source, run, f"internal error: {name}", said={"code": "internal_error", "error": name}
        )
    else:
        # What the records decided (a run cut short, and why) is kept before the media are
        # fetched: fetching holds no transaction, and must not lose it.
        db.session.commit()
        report = _fetch_media(source, run, wanted, fetcher)
        if run.status == "running":
            run.status = "partial" if run.rejected else "ok"
        validators = client.validators
        if report and report.get("left"):
            # Files the cap left: the next run reads the document again (no 304, no "same
            # bytes") so that its records name them again.
            validators = dict.fromkeys(("etag", "last_modified", "content_digest"))
        succeeded(source, run, new_state, validators)
    finally:
        preparer.close()
        client.close()
        if own_fetcher:
            fetcher.close()
    return run


def _fetch_media(source, run, wanted, fetcher):
    """The partner's media the run's records name (``hub.sync.media``), once every record is
    written: a file that fails is reported with the run, never fails it. Returns the report
    (None when there was nothing to fetch, or the fetching broke)."""
    if not wanted:
        return None
    try:
        return partner_media.fetch(source, run, wanted, fetcher)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("media of source %s could not be fetched", source.id)
        return None


def _said(exc, kind):
    """Why a run failed, as facts for ``hub.sync.messages``."""
    if isinstance(exc, UnknownConnectorKind):
        return {"code": "unknown_kind", "kind": kind}
    if isinstance(exc, LeaseLost):
        return {"code": "lease_lost"}
    said = messages.of(exc)
    if isinstance(exc, SettingsError) or (said["code"] is None and isinstance(exc, ValueError)):
        # The connector's settings: why, as facts where the connector named them.
        reason = {"reason": said} if said["code"] is not None else {}
        return {"code": "invalid_settings", "error": str(exc), **reason}
    return said


def _facts(value):
    """A connector's account of a cut-short run, kept as JSON with the run (plain values)."""
    if not isinstance(value, dict):
        return {"reason": "unknown"}
    return {str(k): v for k, v in value.items() if isinstance(v, str | int | float | bool)}


# Batches read and waiting while one is written: the worker prepares the newest of them,
# this process writes them from the oldest (and prepares those the worker has not taken).
QUEUED = 3


def _consume(
    reader,
    source,
    run,
    seen,
    client,
    keep_lease,
    preparer,
    held=True,
    whole=False,
    wanted=None,
    fresh=False,
):
    """Read the connector's records in batches and write them; while one batch is written, the
    next is read and (in the worker, if the run has one) prepared. ``held``: whether the hub
    held anything alive of the source when the run began (else there is nothing for the
    worker to leave unchecked, and no need to ask). ``whole``: the document is read to its
    end before anything is written (``snapshots.read_whole``). ``wanted``: notes the records'
    media (``hub.sync.media.Wanted``), fetched once every batch is written. ``fresh``: the source
    had no entry at all when the run began (its first run): ``batches.ingest`` looks up only
    the ids the run has seen already."""
    batch, pending = [], deque()  # (batch, its preparation) in the order they were read

    def submit(batch):
        stored = functools.partial(stored_fingerprints, source, batch) if held else None
        pending.append((batch, preparer.submit(batch, stored)))

    def ahead(batch):
        if len(pending) >= snapshots.AHEAD or not preparer.working():
            return False
        submit(batch)
        return True

    if whole:
        reader = snapshots.read_whole(reader, client, preparer, ahead)

    def write(leave):
        while len(pending) > leave:
            items, answer = pending.popleft()
            prepared = answer() if answer else None
            batches.ingest(source, items, run, seen, keep_lease, prepared, fresh=fresh)

    while True:
        if client.stop_at is not None and utcnow() >= client.stop_at:
            raise FetchError("the run took longer than its deadline", code="run_deadline")
        try:
            item = next(reader)
        except StopIteration as stop:
            new_state = stop.value or {}
            break
        if wanted is not None:
            wanted.note(item)
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            submit(batch)
            write(leave=QUEUED)
            batch = []
    if batch:
        submit(batch)
    write(leave=0)
    return new_state
