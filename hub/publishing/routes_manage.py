"""The coordinators' pages: their country's entries, writing and translating them, publishing;
the translation queue, which lists the registry's facts to translate for administrators."""

from babel import Locale
from babel.core import get_global
from babel.lists import format_list
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from hub.accounts.models import User
from hub.db import ID_RULE, parse_id, utcnow
from hub.extensions import db, login_manager
from hub.history import services as history
from hub.history import trash as history_trash
from hub.i18n import current_language, language_name, languages
from hub.media.models import KINDS as MEDIA_KINDS
from hub.media.models import Media
from hub.publishing import forms, manage_bp, queries, reverting, services
from hub.publishing import revisions as rv
from hub.publishing import vocabulary as v
from hub.publishing.models import Fair, Policy, Product
from hub.registry import facts
from hub.registry.models import Country, Programme
from hub.registry.regions import country_choices, is_known_territory, territory_name
from hub.texts import facts as texts

KIND_RULE = "<any(policy, experience, fair, product):kind>"


@manage_bp.before_request
def _signed_in_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _entry_or_404(entry_id):
    try:
        return services.get_editable(current_user, entry_id)
    except services.EntryNotFound:
        abort(404)


def _world_countries():
    territories = Locale.parse(current_language()).territories
    return country_choices(c for c in territories if is_known_territory(c))


def _prepare(form, kind, country_code, entry=None):
    if kind == "experience":
        programmes = db.session.scalars(
            select(Programme).where(Programme.country_code == country_code).order_by(Programme.id)
        ).all()
        policies = db.session.scalars(
            select(Policy)
            .where(Policy.country_code == country_code, Policy.deleted_dt.is_(None))
            .order_by(Policy.id.desc())
            .limit(200)
        ).all()
        # An older policy already linked stays a choice, so that saving does not drop it.
        linked = [p for p in (entry.policies if entry is not None else []) if p not in policies]
        policies = [*policies, *linked]
        titles = [(p, services.shown(p, current_language()).text.title) for p in policies]
        found = facts.programme_texts(programmes)
        names = [(p, facts.fact(found, "programme", p.id, "name").text) for p in programmes]
        form.prepare(names, titles)
    elif kind == "fair":
        form.prepare(_world_countries(), _exhibitor_choices(country_code, entry))
        # The country's own zones (CLDR), offered first and filled in for a new fair.
        zones = get_global("territory_zones").get(country_code or "", [])
        form.timezone.render_kw = {"list": "zones-of-country", "autocomplete": "off"}
        form.zone_choices = zones
        if request.method == "GET" and not form.timezone.data and len(zones) == 1:
            form.timezone.data = zones[0]
    else:
        form.prepare()


EXHIBITOR_CHOICES = 300  # the latest products of each side offered on a fair's form


def _exhibitor_choices(country_code, fair=None):
    """The products a fair of ``country_code`` may list as exhibitors: the country's own
    (latest first), then other countries' published ones, and those already listed; each
    with its title in the reader's language and its country's name."""
    own = db.session.scalars(
        select(Product)
        .where(Product.country_code == country_code, Product.deleted_dt.is_(None))
        .options(selectinload(Product.translations))
        .order_by(Product.id.desc())
        .limit(EXHIBITOR_CHOICES)
    ).all()
    others = db.session.scalars(
        select(Product)
        .where(
            Product.country_code != country_code,
            Product.status == "published",
            Product.deleted_dt.is_(None),
        )
        .options(selectinload(Product.translations))
        .order_by(Product.country_code, Product.id.desc())
        .limit(EXHIBITOR_CHOICES)
    ).all()
    products = list(dict.fromkeys([*own, *others, *(fair.exhibitors if fair is not None else [])]))
    language = current_language()
    choices = []
    for p in products:
        shown = services.shown(p, language)
        served = shown.language if shown.language != language else None
        choices.append((p, shown.text.title, served, territory_name(p.country_code, language)))
    return choices


def _attach(errors, *forms_):
    """Put each service error on its form field; what belongs to no field is returned."""
    general = []
    for name, message in errors.items():
        base = name.split("-")[0]
        for form in forms_:
            if base in form:
                field = form[base]
                if name != base and base == "outcomes":
                    field = field.entries[int(name.split("-")[1])]
                field.errors = (
                    [*field.errors, message] if isinstance(field.errors, list) else [message]
                )
                break
        else:
            general.append(message)
    return general


@manage_bp.route("/")
def index():
    kind = request.args.get("kind") if request.args.get("kind") in services.KINDS else None
    status = request.args.get("status") if request.args.get("status") in v.ENTRY_STATUSES else None
    page = queries.manage_list(current_user, kind, status, request.args.get("after"))
    return render_template("manage/index.html", page=page, kind=kind, status=status)


@manage_bp.route("/translations")
def translation_queue():
    """The entries to translate, and for an administrator the registry's facts too."""
    page = queries.translation_queue(current_user, request.args.get("after"))
    fact_page = places = None
    if current_user.is_admin:
        items, cursor = texts.untranslated(languages(), request.args.get("facts_after"))
        fact_page = queries.Page(items, cursor)
        places = facts.places((item.subject, item.key) for item in items)
    return render_template("manage/queue.html", page=page, fact_page=fact_page, places=places)


@manage_bp.route(f"/{KIND_RULE}/new", methods=["GET", "POST"])
def new(kind):
    text_form = forms.TextForm()
    form = forms.KIND_FORMS[kind]()
    country_code = current_user.country_code or request.values.get("country", "").upper() or None
    _prepare(form, kind, country_code)
    language = request.form.get("language") or current_language()
    errors, country_error = [], None
    if request.method == "POST":
        if text_form.validate_on_submit() & form.validate():
            try:
                entry = services.create_entry(
                    current_user, kind, language, text_form.text(), form.fields(), country_code
                )
            except services.EntryInvalid as exc:
                country_error = exc.errors.pop("country", None)
                errors = _attach(exc.errors, text_form, form)
            else:
                flash(_("The draft is saved. Publish it when it is ready."), "success")
                return redirect(url_for(".entry", entry_id=entry.id))
        else:
            errors = [e for e in text_form.form_errors + form.form_errors] or errors
    countries = []
    if current_user.is_admin:
        countries = country_choices(db.session.scalars(select(Country.code)))
    return render_template(
        "manage/new.html",
        kind=kind,
        text_form=text_form,
        form=form,
        language=language,
        country=country_code,
        countries=countries,
        country_error=country_error,
        errors=errors if countries or not country_error else [country_error, *errors],
    ), (422 if request.method == "POST" else 200)


@manage_bp.route(f"/entries/<{ID_RULE}:entry_id>", methods=["GET", "POST"])
def entry(entry_id):
    item = _entry_or_404(entry_id)
    form = forms.KIND_FORMS[item.kind](formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        _fill(form, item)
    _prepare(form, item.kind, item.country_code, item)  # after filling: it rebuilds outcome rows
    errors = []
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.update_fields(current_user, item.id, form.fields())
        except services.EntryInvalid as exc:
            errors = _attach(exc.errors, form)
        else:
            flash(_("Your changes are saved."), "success")
            return redirect(url_for(".entry", entry_id=item.id))
    status = 422 if request.method == "POST" else 200
    return render_template("manage/entry.html", entry=item, form=form, errors=errors), status


def _fill(form, item):
    if isinstance(item, Fair):
        form.load(item)
    elif item.kind == "experience":
        data = {
            "programme_id": str(item.programme_id or ""),
            "policy_ids": [str(p.id) for p in item.policies],
            "outcomes": list(item.outcomes or []),
        }
        form.process(data=data)
        while len(form.outcomes) < 4:
            form.outcomes.append_entry()
    else:
        form.process(obj=item)


@manage_bp.route(f"/entries/<{ID_RULE}:entry_id>/text/<text_lang>", methods=["GET", "POST"])
def text(entry_id, text_lang):
    if text_lang not in languages():
        abort(404)
    item = _entry_or_404(entry_id)
    current = item.text_in(text_lang)
    form = forms.TextForm(obj=current if request.method == "GET" else None)
    errors = []
    if form.validate_on_submit():
        try:
            services.save_text(current_user, item.id, text_lang, form.text())
        except services.EntryInvalid as exc:
            errors = _attach(exc.errors, form)
        else:
            flash(_("The text is saved."), "success")
            return redirect(url_for(".entry", entry_id=item.id))
    source = item.text_in(item.source_language)
    return render_template(
        "manage/text.html",
        entry=item,
        form=form,
        text_lang=text_lang,
        source=source if text_lang != item.source_language else None,
        errors=errors,
        **_what_changed(item, current),
    ), (422 if request.method == "POST" else 200)


def _what_changed(item, translation):
    """What a page shows of a translation's original: whether the translation is outdated and,
    if so, what changed in the original since (``services.source_changes``)."""
    outdated = translation is not None and services.outdated_against(item, translation) is not None
    changes, before = services.source_changes(item, translation) if outdated else (None, None)
    return {"outdated": outdated, "changes": changes, "before": before}


def _translation_or_404(entry_id, text_lang):
    """The editable entry and its translation in ``text_lang`` (not its source text)."""
    if text_lang not in languages():
        abort(404)
    item = _entry_or_404(entry_id)
    translation = item.text_in(text_lang)
    if translation is None or text_lang == item.source_language:
        abort(404)
    return item, translation


@manage_bp.route(f"/entries/<{ID_RULE}:entry_id>/translations/<text_lang>/changes")
def source_changes(entry_id, text_lang):
    item, translation = _translation_or_404(entry_id, text_lang)
    return render_template(
        "manage/changes.html",
        entry=item,
        translation=translation,
        text_lang=text_lang,
        source=item.text_in(item.source_language),
        **_what_changed(item, translation),
    )


@manage_bp.route(
    f"/entries/<{ID_RULE}:entry_id>/translations/<text_lang>/confirm", methods=["POST"]
)
def confirm_translation(entry_id, text_lang):
    if not forms.HubForm().validate_on_submit():
        abort(400)
    if text_lang not in languages():
        abort(404)
    try:
        services.confirm_translation(current_user, entry_id, text_lang)
    except services.EntryNotFound:
        abort(404)
    flash(_("The translation is marked as up to date with the original."), "success")
    return redirect(url_for(".translation_queue"))


@manage_bp.route(f"/entries/<{ID_RULE}:entry_id>/status", methods=["POST"])
def set_status(entry_id):
    form = forms.HubForm()
    status = request.form.get("status")
    if not form.validate_on_submit() or status not in v.ENTRY_STATUSES:
        abort(400)
    try:
        services.set_status(current_user, entry_id, status)
    except services.EntryNotFound:
        abort(404)
    messages = {
        "published": _("Published: everyone can read it now."),
        "archived": _("Archived: it is no longer listed."),
        "draft": _("Back to draft: only coordinators see it."),
    }
    flash(messages[status], "success")
    return redirect(url_for(".entry", entry_id=entry_id))


def _media_counts(entry_id):
    """How many photos and documents the entry has: ``{"image": n, "pdf": n}`` (one query)."""
    counts = dict.fromkeys(MEDIA_KINDS, 0)
    counts.update(
        db.session.execute(
            select(Media.kind, func.count()).where(Media.entry_id == entry_id).group_by(Media.kind)
        ).all()
    )
    return counts


@manage_bp.route(f"/entries/<{ID_RULE}:entry_id>/delete", methods=["GET", "POST"])
def delete(entry_id):
    """GET: what deleting the entry takes away, and until when it can be restored; POST (the
    page's Confirm): delete it, into the trash."""
    item = _entry_or_404(entry_id)
    if request.method == "GET":
        language = current_language()
        held = [language_name(t.language, language) for t in item.translations if t.title]
        return render_template(
            "manage/delete.html",
            entry=item,
            languages=format_list(held, locale=language),
            restorable_until=history_trash.purge_dt(utcnow()),
            media=_media_counts(item.id),
        )
    if not forms.HubForm().validate_on_submit():
        abort(400)
    try:
        services.delete_entry(current_user, entry_id)
    except services.EntryNotFound:
        abort(404)
    flash(
        _(
            "The entry is in the trash. You can restore it until %(date)s.",
            date=format_date(history_trash.purge_dt(utcnow()), "long"),
        ),
        "success",
    )
    return redirect(url_for(".index"))


@manage_bp.route("/trash")
def trash():
    page = queries.trash(current_user, request.args.get("after"))
    ids = {e.updated_by_id for e in page.items if e.updated_by_id is not None}
    people = dict(db.session.execute(select(User.id, User.email).where(User.id.in_(ids))).all())
    return render_template(
        "manage/trash.html", page=page, people=people, purge_dt=history_trash.purge_dt
    )


@manage_bp.route(f"/entries/<{ID_RULE}:entry_id>/restore", methods=["POST"])
def restore(entry_id):
    if not forms.HubForm().validate_on_submit():
        abort(400)
    try:
        entry = services.restore_entry(current_user, entry_id)
    except (services.EntryNotFound, services.EntryNotRestorable):
        abort(404)
    except services.TrashExpired:
        flash(
            _("This entry was deleted too long ago to be restored: it has left the trash."),
            "error",
        )
        return redirect(url_for(".trash"))
    flash(_("The entry is restored."), "success")
    return redirect(url_for(".entry", entry_id=entry.id))


HISTORY_PAGE = 20


@manage_bp.route(f"/entries/<{ID_RULE}:entry_id>/history")
def entry_history(entry_id):
    """The entry's revisions, newest first, each with what it changed."""
    item = _entry_or_404(entry_id)
    before = request.args.get("before")
    cursor = parse_id(before) if before else None
    if before and cursor is None:
        abort(400)
    page = history.revisions(
        rv.SUBJECT, item.id, cursor, HISTORY_PAGE, current=rv.entry_state(item)
    )
    return render_template(
        "manage/history.html",
        entry=item,
        page=page,
        first_page=cursor is None,
        rv=rv,
        names=rv.page_names(page, item),
    )


@manage_bp.route(
    f"/entries/<{ID_RULE}:entry_id>/history/<{ID_RULE}:revision_id>/restore", methods=["POST"]
)
def restore_version(entry_id, revision_id):
    if not forms.HubForm().validate_on_submit():
        abort(400)
    try:
        reverting.restore_version(current_user, entry_id, revision_id)
    except services.EntryNotFound:
        abort(404)
    flash(_("The version is restored."), "success")
    return redirect(url_for(".entry_history", entry_id=entry_id))


@manage_bp.app_template_global()
def translation_state(entry):
    """The state of the entry's text in each UI language: source, done, outdated or missing."""
    states = []
    for code in current_app.config["LANGUAGES"]:
        translation = entry.text_in(code)
        if code == entry.source_language:
            state = "source"
        elif translation is None:
            state = "missing"
        elif services.outdated_against(entry, translation) is not None:
            state = "outdated"
        else:
            state = "done"
        states.append((code, state))
    return states
