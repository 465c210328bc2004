"""Dry runs: what a partner's document would do to the hub, with nothing stored.

``dry_run`` reads a document through its connector (a posted one, served from memory, or the
source's own, fetched now by the safe fetcher) and checks each record exactly as the pipeline
does (``hub.sync.prepare``), then looks the partner ids up among the source's entries, a batch at
a time, to say which records would be created, updated, left unchanged or refused (each refusal
with its reasons, per field, in the current language) and, for a complete snapshot, how many
entries would be deleted. It only reads: no entry, run, refused record or change number.

Used by ``POST /api/v1/validate`` (hub/api/validate.py) and the "Try it" button of a source's page
(hub/sync/routes.py).
"""

import io
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

from babel.lists import format_list
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

import connectors  # noqa: F401  (registers the built-in kinds)
from connectors.base import (
    INCOMPLETE,
    KEEP,
    RESYNCED,
    ConnectorError,
    Record,
    Tombstone,
    get_connector,
    incomplete,
)
from hub import request_limits
from hub.db import utcnow
from hub.extensions import db
from hub.publishing.exchange import COLLECTION_KINDS
from hub.publishing.models import Entry
from hub.sync import lookups, messages, prepare, snapshots
from hub.sync.batches import holds, refusal
from hub.sync.fetcher import FetchError, Response
from hub.sync.models import PartnerSource
from hub.sync.names import product_names
from hub.sync.pipeline import SourceClient, _make_fetcher
from hub.sync.rows import BATCH_SIZE

EXCHANGE = "exchange"  # the push format of POST /api/v1/ingest: {"records": [...]}
# The kinds a posted document may be: the exchange format and the single-document connectors.
POSTED_KINDS = (EXCHANGE, "jsonfeed", "ical", "csv")
MAX_RECORDS = 1000  # records in one exchange document: one push, or one document to validate
MAX_DETAILS = 100  # refusals listed in detail; the counts are always complete
MAX_BYTES = 10 * 1024 * 1024  # a posted document
TRY_DEADLINE = timedelta(seconds=60)  # a "Try it" fetch, in a web request
POSTED_URL = "posted:document"


class DocumentError(Exception):
    """The document cannot be checked at all; ``details`` maps fields (or record positions) to
    messages in the current language. ``code``: what is wrong, where the refusal has a stable
    name (the settings': ``invalid_json`` or a ``connectors.base.SettingsError``'s code)."""

    def __init__(self, details, code=None):
        details = prepare.storable(details)  # a lone surrogate of the document's, made printable
        super().__init__(details)
        self.details = details
        self.code = code


@dataclass
class Report:
    """What a document would do. ``rejected``: the first refusals, ``{"id", "collection",
    "reasons"}``; ``complete`` is False when the document was not read to its end (pages of a
    posted feed that would be fetched)."""

    kind: str
    country: str
    source_id: int | None
    counts: dict = field(
        default_factory=lambda: dict.fromkeys(
            ("fetched", "created", "updated", "unchanged", "deleted", "rejected", "held"), 0
        )
    )
    rejected: list = field(default_factory=list)
    complete: bool = True
    seen_alive: set = field(default_factory=set)  # the source's live entries it lists

    def as_json(self):
        return {
            "stored": False,
            "kind": self.kind,
            "country": self.country,
            "source": self.source_id,
            "complete": self.complete,
            "counts": self.counts,
            "rejected": self.rejected,
            "rejected_listed": len(self.rejected),
        }


class _NotRead(Exception):
    """A posted document links to another page: it is checked alone, the rest is not read."""


class PostedClient:
    """A connector's client serving a posted document (bytes) as its main document, in the
    fetcher's ``Response``; any other address is not fetched (``_NotRead``)."""

    def __init__(self, content, url=POSTED_URL):
        self.url = url
        self.response = Response(url, 200, {}, io.BytesIO(content))
        self.vocabulary = product_names()

    def get(self, url, conditional=False, accept=()):
        if url != self.url:
            raise _NotRead(url)
        return self.response

    def close(self):
        self.response.close()


# A stand-in for a source with no HTTP validators: a "Try it" fetch is never answered 304.
_NO_VALIDATORS = SimpleNamespace(etag=None, last_modified=None, content_digest=None)


def exchange_items(body):
    """The records and tombstones of an exchange document (``{"records": [...]}``, parsed),
    as ``POST /api/v1/ingest`` reads them; ``DocumentError`` per position for malformed ones."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise DocumentError({"records": [_("Send a JSON object with a list of records.")]})
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise DocumentError(
            {"records": [_("At most %(max)s records in one batch.", max=MAX_RECORDS)]}
        )
    items, problems = [], {}
    for index, raw in enumerate(records):
        if (
            not isinstance(raw, dict)
            or not isinstance(raw.get("id"), str)
            or raw.get("collection") not in COLLECTION_KINDS
        ):
            problems[str(index)] = [
                _("Each record needs an id, a collection and (unless deleted) a record.")
            ]
            continue
        if raw.get("deleted") is True:
            items.append(Tombstone(raw["id"], raw["collection"]))
        else:
            record = raw.get("record")
            items.append(
                Record(raw["id"], raw["collection"], record if isinstance(record, dict) else {})
            )
    if problems:
        raise DocumentError(problems)
    return items


def _exchange_reader(content):
    try:
        body = request_limits.loads(content.decode("utf-8-sig"))
    except request_limits.JsonTooDeep:
        raise DocumentError({"document": [_("The document is nested too deeply.")]}) from None
    except UnicodeDecodeError as exc:
        raise DocumentError(
            {"document": [_("The document is not UTF-8 text (byte %(at)s).", at=exc.start)]}
        ) from None
    except ValueError as exc:
        raise DocumentError(
            {"document": [_("The document is not JSON: %(error)s", error=exc)]}
        ) from None
    yield from exchange_items(body)
    return {}


def push_source(country_code):
    """The country's push source, if it has one (looked up, never created)."""
    return db.session.scalar(
        select(PartnerSource)
        .where(PartnerSource.kind == "push", PartnerSource.country_code == country_code)
        .order_by(PartnerSource.id)
        .limit(1)
    )


def check_settings(kind, settings):
    """``settings`` (a JSON text or a mapping) checked by the connector of ``kind``; the
    settings the connector will use, or ``DocumentError``."""
    if kind not in POSTED_KINDS:
        kinds = format_list(list(POSTED_KINDS), "or", get_locale())
        raise DocumentError({"kind": [_("Use one of: %(kinds)s.", kinds=kinds)]})
    if isinstance(settings, str):
        try:
            settings = request_limits.loads(settings or "{}")
        except ValueError as exc:
            raise DocumentError(
                {"settings": [messages.json_refusal(exc)]}, "invalid_json"
            ) from None
    if not isinstance(settings, dict):
        raise DocumentError({"settings": [_("The settings must be a JSON object.")]})
    if kind == EXCHANGE:
        if settings:
            raise DocumentError({"settings": [_("An exchange document takes no settings.")]})
        return {}
    try:
        return get_connector(kind).validate_settings(settings)
    except ValueError as exc:
        message = messages.settings_refusal(exc, kind)
        raise DocumentError({"settings": [message]}, getattr(exc, "code", None)) from None


def dry_run(kind, settings, country_code, source=None, content=None, state=None, fetcher=None):
    """What the document of ``kind`` (``settings`` already checked) would do for
    ``country_code``, compared with ``source``'s entries (None: compared with nothing, every
    good record would be created). ``content``: the posted document's bytes; None to fetch
    ``source``'s own now (its ``state`` as the next run would read it). Raises
    ``DocumentError`` when the document cannot be read."""
    report = Report(kind, country_code, source.id if source is not None else None)
    full_snapshot = False
    close = []
    try:
        if kind == EXCHANGE:
            reader = _exchange_reader(content)
        else:
            connector = get_connector(kind)
            full_snapshot = connector.full_snapshot
            if content is not None:
                client = PostedClient(content)
                url = client.url
            else:
                own = fetcher is None
                fetcher = fetcher or _make_fetcher()
                if own:
                    close.append(fetcher)
                client = SourceClient(fetcher, _NO_VALIDATORS, stop_at=utcnow() + TRY_DEADLINE)
                url = source.url
            close.append(client)
            reader = connector.read(client, {**settings, "url": url}, dict(state or {}))
        new_state = _check_all(reader, report, source)
    except DocumentError:
        raise
    except (ConnectorError, FetchError) as exc:
        said = messages.describe(messages.of(exc)) or str(exc)
        raise DocumentError(
            {"document": [_("The document cannot be read: %(error)s", error=said)]}
        ) from None
    except RecursionError:
        raise DocumentError({"document": [_("The document is nested too deeply.")]}) from None
    finally:
        for thing in close:
            thing.close()
    report.complete = report.complete and new_state.pop(INCOMPLETE, None) is None
    full_snapshot = new_state.pop(RESYNCED, None) is True or full_snapshot
    if full_snapshot and report.complete and source is not None:
        _missing(source, report, snapshots.kept_clause(new_state.pop(KEEP, None)))
    return report


def _check_all(reader, report, source):
    """Read and check the records a batch at a time; the connector's new state."""
    known = {}  # partner id → [kind, alive, fingerprint], from the database then the document
    batch = []
    while True:
        try:
            item = next(reader)
        except StopIteration as stop:
            state = stop.value or {}
            break
        except _NotRead:
            report.complete = False
            state = incomplete("not_fetched")
            break
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            _check_batch(batch, report, source, known)
            batch = []
    if batch:
        _check_batch(batch, report, source, known)
    return state


def _check_batch(items, report, source, known):
    """One batch, as ``batches.ingest`` and ``batches._write`` would take it."""
    country = report.country
    ids = {str(i.partner_id) for i in items if prepare.usable_id(i.partner_id)} - set(known)
    if source is not None and ids:
        columns = (Entry.partner_id, Entry.kind, Entry.deleted_dt, Entry.content_fingerprint)
        for row in lookups.lookup(columns, source.id, ids):
            known[row.partner_id] = [row.kind, row.deleted_dt is None, row.content_fingerprint]
            if row.deleted_dt is None:
                report.seen_alive.add(row.partner_id)
    stored = {pid: state[2] for pid, state in known.items() if state[1]}
    prepared = prepare.prepare(items, country, stored)
    # Live entries whose records came with another fingerprint: compared as the run would.
    differ = {
        str(item.partner_id)
        for item, ready in zip(items, prepared, strict=True)
        if ready is not None and ready.valid and str(item.partner_id) in stored
    }
    held = lookups.entries(source.id, differ) if source is not None else {}
    counts = report.counts
    counts["fetched"] += len(items)
    for item, ready in zip(items, prepared, strict=True):
        partner_id = str(item.partner_id)
        state = known.get(partner_id)
        if isinstance(item, Tombstone):
            if state is not None and state[1]:
                state[1] = False
                counts["deleted"] += 1
            continue
        kind = COLLECTION_KINDS.get(item.collection)
        if state is not None and state[1] and state[2] == ready.digest:
            counts["unchanged"] += 1
            continue
        if (reasons := refusal(item, kind, state[0] if state else None)) is not None:
            _refuse(report, item, reasons)
            continue
        if not ready.checked:  # what the hub held, sent again changed in the same document
            ready = prepare.prepare([item], country)[0]
        if not ready.valid:
            _refuse(report, item, prepare.check(country, kind, item)[4])
            continue
        same = state is not None and state[1] and partner_id in held
        if same and holds(held.pop(partner_id), item, ready):
            counts["unchanged"] += 1
        else:
            counts["created" if state is None else "updated"] += 1
        known[partner_id] = [kind, True, ready.digest]


def _refuse(report, item, reasons):
    report.counts["rejected"] += 1
    limit = current_app.config.get("VALIDATE_MAX_DETAILS", MAX_DETAILS)
    if len(report.rejected) < limit:
        report.rejected.append(
            {
                "id": prepare.storable(str(item.partner_id))[:200],
                "collection": prepare.storable(str(item.collection))[:100],
                "reasons": prepare.storable(reasons),
            }
        )
        if columns := getattr(item, "columns", None):
            report.rejected[-1]["columns"] = prepare.storable(dict(columns))


def _missing(source, report, kept):
    """What a complete snapshot would do with the source's live entries it does not list (and
    does not keep on purpose, ``kept``): delete them, or hold them for review as
    ``snapshots.settle_missing`` would."""
    kept_ids, ended_before = kept
    alive = gone = 0
    for partner_id, ends_utc in db.session.execute(
        select(Entry.partner_id, Entry.__table__.c.ends_utc).where(
            Entry.source_id == source.id, Entry.deleted_dt.is_(None)
        )
    ):
        alive += 1
        if partner_id in report.seen_alive or partner_id in kept_ids:
            continue
        if not (ended_before and ends_utc is not None and ends_utc < ended_before):
            gone += 1
    counts = report.counts
    if gone and snapshots.would_hold(source, gone, alive, counts):
        counts["held"] += gone
    else:
        counts["deleted"] += gone
