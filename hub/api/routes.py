"""/api/v1: the changes feed that partners and other hubs follow, and the push endpoint."""

from flask import abort, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from connectors.base import Record, Tombstone
from hub.api import bp
from hub.api.auth import token_required
from hub.db import utcnow
from hub.extensions import csrf, db
from hub.i18n import current_language
from hub.publishing.exchange import COLLECTION_KINDS, dump_record
from hub.publishing.models import Entry, EntryStatus
from hub.publishing.routes import COLLECTION_OF
from hub.registry.regions import is_known_territory
from hub.sync.models import PartnerSource, RejectedRecord, SyncRun
from hub.sync.pipeline import ingest

csrf.exempt(bp)  # bearer tokens, not cookies: there is no cross-site form to forge

MAX_CHANGES = 1000
MAX_PUSH = 1000


class ApiInputError(Exception):
    """Bad input to the API: answered 422 with per-field details."""

    def __init__(self, details):
        super().__init__(details)
        self.details = details


@bp.errorhandler(ApiInputError)
def _input_error(exc):
    return jsonify(
        error={"code": 422, "message": _("The request is not valid."), "details": exc.details}
    ), 422


def _int_arg(name, default, low, high):
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiInputError(
            {name: [_("A whole number from %(low)s to %(high)s.", low=low, high=high)]}
        )
    return int(raw)


@bp.route("/changes")
def changes():
    """Every change to every entry ever published, in change order: the entry in the exchange
    format, or a tombstone when it was deleted or withdrawn from publication. A client that
    follows ``next_since`` until ``more`` is false holds an exact copy."""
    since = _int_arg("since", 0, 0, 2**62)
    limit = _int_arg("limit", 100, 1, MAX_CHANGES)
    stmt = (
        select(Entry)
        .where(Entry.change_seq > since, Entry.published_dt.is_not(None))
        .options(selectinload(Entry.translations))
        .order_by(Entry.change_seq)
        .limit(limit + 1)
    )
    if country := request.args.get("country"):
        if not is_known_territory(country):
            raise ApiInputError({"country": [_("“%(value)s” is not a country.", value=country)]})
        stmt = stmt.where(Entry.country_code == country)
    rows = db.session.scalars(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = []
    for entry in rows:
        item = {
            "seq": entry.change_seq,
            "id": entry.id,
            "collection": COLLECTION_OF[entry.kind],
            "country": entry.country_code,
            "updated_dt": entry.updated_dt.isoformat(),
        }
        if entry.deleted_dt is None and entry.status == EntryStatus.PUBLISHED:
            item.update(deleted=False, record=dump_record(entry))
        else:
            item.update(deleted=True)
        items.append(item)
    return jsonify(items=items, next_since=rows[-1].change_seq if rows else since, more=more)


def _push_source(token):
    """The country's push source: one per country, whatever token pushes (a new token must
    go on updating what the old one brought)."""
    source = db.session.scalar(
        select(PartnerSource)
        .where(PartnerSource.kind == "push", PartnerSource.country_code == token.country_code)
        .order_by(PartnerSource.id)
        .limit(1)
    )
    if source is None:
        source = PartnerSource(
            country_code=token.country_code,
            kind="push",
            url=f"push:token-{token.id}",
            token_id=token.id,
            settings={},
        )
        db.session.add(source)
        db.session.commit()
    return source


@bp.route("/ingest", methods=["POST"])
@token_required
def push():
    """A partner's batch of records for its token's country, through the ingest pipeline."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiInputError({"records": [_("Send a JSON object with a list of records.")]})
    records = body["records"]
    if len(records) > MAX_PUSH:
        raise ApiInputError({"records": [_("At most %(max)s records in one batch.", max=MAX_PUSH)]})
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
            items.append(
                Record(
                    raw["id"],
                    raw["collection"],
                    raw.get("record") if isinstance(raw.get("record"), dict) else {},
                )
            )
    if problems:
        raise ApiInputError(problems)
    source = _push_source(g.api_token)
    if not source.enabled:
        return jsonify(
            error={
                "code": 409,
                "message": _("Pushes for this country are paused by an administrator."),
                "details": {},
            }
        ), 409
    run = SyncRun(source_id=source.id, status="running")
    db.session.add(run)
    db.session.commit()
    if items:
        ingest(source, items, run)
    run.status = "partial" if run.rejected else "ok"
    run.finished_dt = utcnow()
    db.session.commit()
    rejected = db.session.scalars(
        select(RejectedRecord).where(RejectedRecord.run_id == run.id).order_by(RejectedRecord.id)
    ).all()
    return jsonify(
        run=run.id,
        status=run.status,
        counts={name: getattr(run, name) for name in SyncRun.COUNTS},
        rejected=[
            {"id": r.partner_id, "reasons": r.reasons.get(current_language(), {})} for r in rejected
        ],
    )


@bp.route("/<path:_rest>")
def not_found(_rest):
    abort(404)
