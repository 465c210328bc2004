"""GET /api/v1/<collection>/<id>/revisions: an entry's history for partners, newest first,
each change with its fields' old and new values (hub.history). Anyone may read the history of
a published entry, as they may read the entry; a token reads its own country's drafts and
archived entries too, and those answers are private to it.

GET /api/v1/countries/<code>/revisions: the history of a country's facts (its membership
status and texts, its programmes', membership events' and sources' texts), public as the
registry is; each item also says which fact it changed (``subject``)."""

from flask import abort, g, jsonify
from flask_babel import gettext as _
from sqlalchemy import select

from hub.api import bp
from hub.api.auth import bearer_token
from hub.api.routes import ApiInputError, _cursor, _encode, _int_arg
from hub.db import ID_RULE, parse_id
from hub.extensions import db
from hub.history import services as history
from hub.publishing import revisions as rv
from hub.publishing.exchange import COLLECTION_KINDS
from hub.publishing.models import Entry
from hub.publishing.queries import public_entry
from hub.registry import revisions as registry_rv
from hub.registry.facts import country_subjects, country_texts
from hub.registry.queries import get_country


def _visible(kind, entry_id):
    """The entry if the caller may read it: published, or of the token's country."""
    entry = public_entry(kind, entry_id)
    if entry is not None:
        return entry
    token = bearer_token()
    if token is None:
        return None
    g.private_answer = True
    return db.session.scalar(
        select(Entry).where(
            Entry.id == entry_id,
            Entry.kind == kind,
            Entry.deleted_dt.is_(None),
            Entry.country_code == token.country_code,
        )
    )


def actor_view(revision):
    """Who made a revision: a token and a source by name; a person by role only (e-mail
    addresses are not published); "hub" for the hub itself."""
    if revision.token is not None:
        return {"type": "token", "name": revision.token.name}
    if revision.source is not None:
        return {"type": "source", "name": revision.source.url}
    if revision.user_id is not None:
        return {"type": "user", "name": None}
    return {"type": "hub", "name": None}


def revision_view(revision, changes):
    return {
        "id": revision.id,
        "created": revision.created_dt.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "action": revision.action,
        "language": revision.language,
        "actor": actor_view(revision),
        "changes": {c.field: {"old": c.old, "new": c.new} for c in changes},
    }


@bp.route(
    f"/<any(policies, experiences, fairs, products):collection>/<{ID_RULE}:entry_id>/revisions"
)
def entry_revisions(collection, entry_id):
    """An entry's revisions, newest first; ``cursor`` from the previous page's ``next_cursor``."""
    limit, cursor = _page_args()
    entry = _visible(COLLECTION_KINDS[collection], entry_id)
    if entry is None:
        abort(404)
    page = history.revisions(rv.SUBJECT, entry.id, cursor, limit, current=rv.entry_state(entry))
    return jsonify(
        items=[revision_view(revision, changes) for revision, changes in page.items],
        next_cursor=_next_cursor(page),
    )


@bp.route("/countries/<code>/revisions")
def country_revisions(code):
    """The revisions of a country's facts, newest first, each with the fact it changed."""
    limit, cursor = _page_args()
    country = get_country(code.upper()) if len(code) == 2 and code.isascii() else None
    if country is None:
        abort(404)
    current = registry_rv.current_states(country, country_texts(country))
    page = history.revisions_of(country_subjects(country), cursor, limit, current=current)
    return jsonify(
        items=[
            {
                **revision_view(revision, changes),
                "subject": {"type": revision.subject, "id": revision.subject_id},
            }
            for revision, changes in page.items
        ],
        next_cursor=_next_cursor(page),
    )


def _page_args():
    """``(limit, cursor)`` of a page of revisions; a cursor the API did not give is refused."""
    limit = _int_arg("limit", 50, 1, 200)
    raw = _cursor()
    cursor = parse_id(raw) if raw is not None else None
    if raw is not None and cursor is None:
        raise ApiInputError({"cursor": [_("This cursor is not one the API gave.")]})
    return limit, cursor


def _next_cursor(page):
    return _encode(str(page.next_cursor) if page.next_cursor else None)
