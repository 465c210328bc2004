"""The administrators' pages for partner sources: health, runs, refused records, changes."""

import json
from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_number, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from connectors.base import UnknownConnectorKind, get_connector, kinds
from hub.accounts.auth import admin_required
from hub.db import ID_RULE, parse_id, utcnow
from hub.extensions import db
from hub.publishing import vocabulary as entry_vocabulary
from hub.publishing.models import Entry, EntryTranslation
from hub.publishing.routes import COLLECTIONS
from hub.registry.models import Country
from hub.registry.regions import country_choices
from hub.sync import bp, messages, queries, services, validate
from hub.sync.figures import activity_chart
from hub.sync.models import HeldDeletion, PartnerSource, RejectedRecord, SyncRun
from hub.sync.scheduler import lease_holder, run_if_free

RUNS_PAGE = 20
REJECTED_PAGE = 50
SYNC_NOW_DEADLINE = timedelta(seconds=90)  # a web request must not wait longer
HEALTH_WINDOW = timedelta(days=30)  # the runs the health chart counts


@bp.before_request
@admin_required
def _administrators_only():
    return None


def _form_values():
    form = request.form
    every = parse_id(form.get("every"))
    return {
        "country_code": form.get("country", ""),
        "kind": form.get("kind", ""),
        "url": form.get("url", "").strip(),
        "settings": form.get("settings", "").strip() or "{}",
        "every": every if every is not None else -1,
    }


def _list_page(values=None, error=None, status=200):
    sources = db.session.scalars(select(PartnerSource).order_by(PartnerSource.id)).all()
    countries = country_choices(db.session.scalars(select(Country.code)))
    return render_template(
        "sync/sources.html",
        sources=sources,
        countries=countries,
        kinds=kinds(),
        values=values or {"every": 60, "settings": "{}"},
        error=error,
        activity_chart=activity_chart(sources, utcnow() - HEALTH_WINDOW) if sources else None,
        window_days=HEALTH_WINDOW.days,
    ), status


@bp.route("/")
def sources():
    return _list_page()


@bp.route("/", methods=["POST"])
def add():
    values = _form_values()
    try:
        source = services.add_source(
            values["country_code"],
            values["kind"],
            values["url"],
            values["settings"],
            values["every"],
            actor=current_user,
        )
    except services.SourceError as exc:
        db.session.rollback()
        return _list_page(values, str(exc), 422)
    flash(_("Source %(id)s added; its first sync is due now.", id=source.id), "success")
    return redirect(url_for(".source", source_id=source.id))


def _source_or_404(source_id):
    source = db.session.get(PartnerSource, source_id)
    if source is None:
        abort(404)
    return source


@bp.route(f"/<{ID_RULE}:source_id>", methods=["GET", "POST"])
def source(source_id):
    item = _source_or_404(source_id)
    error, values = None, None
    if request.method == "POST":
        values = _form_values()
        shrink = request.form.get("shrink_limit")  # absent: unchanged
        if shrink is not None:
            shrink = shrink.strip()
            shrink = (
                int(shrink) if shrink.isascii() and shrink.isdecimal() and len(shrink) < 4 else -1
            )
        try:
            services.update_source(
                item.id,
                values["url"],
                values["settings"],
                values["every"],
                current_user,
                shrink_limit=shrink,
            )
        except services.SourceError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            flash(_("The source is saved."), "success")
            return redirect(url_for(".source", source_id=item.id))
    before = parse_id(request.args.get("before"))
    runs_stmt = select(SyncRun).where(SyncRun.source_id == item.id).order_by(SyncRun.id.desc())
    if before:
        runs_stmt = runs_stmt.where(SyncRun.id < before)
    runs = db.session.scalars(runs_stmt.limit(RUNS_PAGE + 1)).all()
    rejected = db.session.scalars(
        select(RejectedRecord)
        .where(RejectedRecord.source_id == item.id)
        .order_by(RejectedRecord.id.desc())
        .limit(REJECTED_PAGE)
    ).all()
    values = values or {
        "url": item.url,
        "settings": json.dumps(item.settings, ensure_ascii=False, indent=2),
        "every": item.interval_minutes,
        "shrink_limit": item.shrink_limit,
    }
    values.setdefault("shrink_limit", request.form.get("shrink_limit", item.shrink_limit))
    review = services.pending_review(item.id)
    entry_filters, entry_errors = _entry_filters()
    return render_template(
        "sync/source.html",
        source=item,
        review=review,
        held_entries=_held_entries(review) if review else [],
        run_detail=services.run_detail,
        last_failure=services.last_failure(item),
        status_label=services.status_label,
        review_labels=REVIEW_LABELS,
        runs=runs[:RUNS_PAGE],
        older=runs[RUNS_PAGE - 1].id if len(runs) > RUNS_PAGE else None,
        rejected=rejected,
        stored_reasons=messages.stored_reasons,
        reason_lines=messages.reason_lines,
        values=values,
        error=error,
        **_entries_section(item.id, entry_filters, entry_errors),
    ), (422 if error else 400 if entry_errors else 200)


ENTRY_STATES = {"all": None, "live": True, "deleted": False}  # the list's status filter
SEARCH_MAX = 200  # characters of the list's search text, as long as a partner id


def _entry_filters():
    """The filters of the source's list of entries from the query string: ``(values, errors)``;
    a bad value is reported (the page answers 400) and not applied."""
    args, values, errors = request.args, {}, {}
    collection = args.get("kind", "")
    if collection in COLLECTIONS:
        values["kind"] = collection
    elif collection:
        errors["kind"] = _("“%(value)s” is not one of the options.", value=collection)
    state = args.get("status", "")
    if state in ENTRY_STATES:
        values["status"] = state
    elif state:
        errors["status"] = _("“%(value)s” is not one of the options.", value=state)
    text = args.get("q", "").strip()
    if len(text) > SEARCH_MAX or not all(map(_printable, text)):
        errors["q"] = _(
            "The search text must be at most %(max)s characters, without control characters.",
            max=format_number(SEARCH_MAX),
        )
    elif text:
        values["q"] = text
    before = args.get("entries_before", "")
    if parse_id(before) is not None:
        values["entries_before"] = parse_id(before)
    elif before:
        errors["entries_before"] = _("“%(value)s” is not a page of this list.", value=before)
    return values, errors


def _printable(character):
    return character >= " " and character != "\x7f"


def _entries_section(source_id, filters, errors):
    """What templates/sync/_entries.html shows: the source's entries a page at a time, with the
    filters, and how many it has of each kind, alive and deleted."""
    counts = queries.source_entry_counts(source_id)
    page = None
    if not errors:
        page = queries.source_entries(
            source_id,
            kind=COLLECTIONS.get(filters.get("kind")),
            live=ENTRY_STATES[filters.get("status", "all")],
            text=filters.get("q", ""),
            before=filters.get("entries_before"),
        )
    return {
        "entries": page,
        "entry_counts": counts,
        "entry_totals": (
            sum(alive for alive, _deleted in counts.values()),
            sum(deleted for _alive, deleted in counts.values()),
        ),
        "entry_filters": filters,
        # The search text as typed, less what no page can show (a refused NUL), for its field.
        "entry_query": "".join(c for c in request.args.get("q", "") if _printable(c)),
        "entry_errors": errors,
        "entry_collections": {
            name: (kind, *entry_vocabulary.KIND_NAMES[kind]) for name, kind in COLLECTIONS.items()
        },
        "entry_statuses": entry_vocabulary.ENTRY_STATUSES,
        "entry_states": {
            "all": _l("All statuses"),
            "live": _l("Not deleted"),
            "deleted": _l("Deleted"),
        },
    }


HELD_SHOWN = 50  # entries of a held run listed on the source's page

REVIEW_LABELS = {
    "confirmed": _l("deletion confirmed"),
    "kept": _l("entries kept"),
    "superseded": _l("superseded by a later run"),
}


def _held_entries(run):
    """The first of the entries ``run`` held back: (partner id, title in their own language)."""
    rows = db.session.execute(
        select(Entry.partner_id, EntryTranslation.title)
        .join(HeldDeletion, HeldDeletion.entry_id == Entry.id)
        .outerjoin(
            EntryTranslation,
            (EntryTranslation.entry_id == Entry.id)
            & (EntryTranslation.language == Entry.source_language),
        )
        .where(HeldDeletion.run_id == run.id)
        .order_by(Entry.partner_id)
        .limit(HELD_SHOWN)
    )
    return rows.all()


@bp.route(
    f"/<{ID_RULE}:source_id>/runs/<{ID_RULE}:run_id>/<any(confirm, keep):decision>",
    methods=["POST"],
)
def review(source_id, run_id, decision):
    item = _source_or_404(source_id)
    try:
        deleted = services.decide_held(item.id, run_id, decision == "confirm", current_user)
    except services.SourceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        if decision == "confirm":
            flash(
                ngettext("%(num)s entry deleted.", "%(num)s entries deleted.", deleted), "success"
            )
        else:
            flash(_("The entries are kept."), "success")
    return redirect(url_for(".source", source_id=item.id))


@bp.route(f"/<{ID_RULE}:source_id>/<any(pause, resume, sync, remove):action>", methods=["POST"])
def act(source_id, action):
    item = _source_or_404(source_id)
    if action == "remove":
        services.remove_source(item.id, current_user)
        flash(_("The source is removed; the entries it brought stay."), "success")
        return redirect(url_for(".sources"))
    if action in ("pause", "resume"):
        services.set_enabled(item.id, action == "resume", current_user)
        flash(
            _("The source is paused.") if action == "pause" else _("The source is resumed."),
            "success",
        )
    else:
        run = run_if_free(item.id, f"web:{current_user.id}", SYNC_NOW_DEADLINE, paused_too=True)
        detail = services.run_detail(run) if run is not None else None
        if run is None:
            flash(services.busy_message(item.id, lease_holder(item.id)), "error")
        elif run.status == "failed":
            flash(
                _("The sync failed: %(error)s", error=services.run_detail(run) or run.error),
                "error",
            )
        else:
            flash(
                _(
                    "Synced: %(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
                    "%(deleted)s deleted, %(rejected)s refused, %(held)s held.",
                    **{name: format_number(getattr(run, name)) for name in SyncRun.COUNTS},
                ),
                "success" if detail is None else "error",
            )
            if detail is not None:
                flash(detail, "error")
    return redirect(url_for(".source", source_id=item.id))


@bp.route(f"/<{ID_RULE}:source_id>/try", methods=["POST"])
def try_source(source_id):
    """The "Try it" button: fetch the source's document now and show what a sync would do,
    storing nothing (hub.sync.validate)."""
    item = _source_or_404(source_id)
    report, error = None, None
    if item.kind == "push":
        error = _("A push source has no document to fetch: its partner sends the records.")
    else:
        try:
            settings = get_connector(item.kind).validate_settings(item.settings or {})
            report = validate.dry_run(
                item.kind, settings, item.country_code, item, state=item.state
            )
        except (UnknownConnectorKind, ValueError) as exc:
            error = validate.prepare.storable(messages.settings_refusal(exc, item.kind))
        except validate.DocumentError as exc:
            error = " ".join(m for messages in exc.details.values() for m in messages)
    page = render_template(
        "sync/tryit.html",
        source=item,
        tryit=report,
        tryit_error=error,
        reason_lines=messages.reason_lines,
    )
    return page, 422 if error else 200
