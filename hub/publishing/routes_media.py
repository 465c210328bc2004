"""The "Photos and documents" section of an entry's manage page (manage/_media.html): upload
several files at once, each medium's alternative texts, its place (up, down, cover) and its
removal. Plain forms (no JavaScript), each with its CSRF token; the entry's country rules
(``services.get_editable``: another country's coordinator gets a 404 and nothing changes).
The work is hub.media.services'; each action answers with a redirect to the section.

A removal is confirmed on a page of its own, like an entry's deletion, and is final: a medium
has no trash (its files go with it unless another medium shares them); the page says so.
"""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from hub.db import ID_RULE
from hub.i18n import current_language, languages
from hub.media import services as media
from hub.media import validate
from hub.publishing import forms, manage_bp
from hub.publishing.routes_manage import _entry_or_404
from hub.request_limits import media_limit, media_upload

MEDIA_RULE = f"/entries/<{ID_RULE}:entry_id>/media"
MB = 1024 * 1024


def _section(entry_id):
    return redirect(url_for(".entry", entry_id=entry_id, _anchor="media"))


def _checked_form():
    if not forms.HubForm().validate_on_submit():
        abort(400)


def _medium_or_404(entry_id, media_id):
    """The editable entry and its medium, else a 404 (checked before the form)."""
    item = _entry_or_404(entry_id)
    medium = media.get(media_id, item.id)
    if medium is None:
        abort(404)
    return item, medium


@manage_bp.app_template_global()
def entry_media(entry):
    """The entry's media in order, each as ``(medium, its description, its thumbnail)``: the
    thumbnail is the narrowest JPEG variant (``{"url", "width", "height"}``) or None."""
    shown = []
    for medium in media.for_entries([entry.id]).get(entry.id, []):
        view = media.describe(medium, current_language(), entry.source_language)
        jpegs = [v for v in view["variants"] if v["mime"] == "image/jpeg" and v["width"]]
        shown.append((medium, view, min(jpegs, key=lambda v: v["width"]) if jpegs else None))
    return shown


@manage_bp.app_template_global()
def media_limits():
    """The accepted types and sizes, for the upload form's hint."""
    return _(
        "%(types)s; up to %(max)s MB a file and %(total)s MB at once. Several files can be "
        "chosen together.",
        types=validate.accepted_types(),
        max=format_decimal(round(validate.max_bytes() / MB, 1)),
        total=format_decimal(round(media_limit(current_app) / MB, 1)),
    )


@manage_bp.app_template_global()
def media_accept():
    """The file input's ``accept``: the types the hub takes (it sniffs the bytes anyway)."""
    types = ["image/jpeg", "image/png", "image/webp", "application/pdf"]
    if validate.HEIC:
        types += ["image/heic", ".heic"]
    return ",".join(types)


@manage_bp.app_template_global()
def alt_languages(entry):
    """The languages of the alternative texts' fields: the entry's source language first."""
    return sorted(languages(), key=lambda code: code != entry.source_language)


@manage_bp.route(MEDIA_RULE, methods=["POST"])
@media_upload
def media_upload_files(entry_id):
    """Add every file of the form's ``files``; a refused one is named with its reason and
    costs the others nothing."""
    item = _entry_or_404(entry_id)
    _checked_form()
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        flash(_("Choose one or more files to upload."), "error")
        return _section(item.id)
    added = 0
    for upload in uploads:
        try:
            media.add(item.id, upload.filename, upload.stream, actor=current_user)
        except media.MediaRefused as exc:
            flash(
                _("“%(name)s” was not added: %(reason)s", name=upload.filename, reason=exc.message),
                "error",
            )
        else:
            added += 1
    if added:
        flash(
            ngettext(
                "%(num)s file added: it is being prepared and appears on the public page when "
                "it is ready.",
                "%(num)s files added: they are being prepared and appear on the public page "
                "when they are ready.",
                added,
            ),
            "success",
        )
    return _section(item.id)


@manage_bp.route(f"{MEDIA_RULE}/<{ID_RULE}:media_id>/alts", methods=["POST"])
def media_alts(entry_id, media_id):
    """Save the medium's alternative texts (``alt-<language>``; an empty one is removed)."""
    item, medium = _medium_or_404(entry_id, media_id)
    _checked_form()
    alts = {code: request.form.get(f"alt-{code}", "") for code in languages()}
    try:
        media.update(medium, alts=alts)
    except media.MediaRefused as exc:
        flash(exc.message, "error")
    else:
        flash(_("The alternative texts are saved."), "success")
    return _section(item.id)


@manage_bp.route(f"{MEDIA_RULE}/<{ID_RULE}:media_id>/move", methods=["POST"])
def media_move(entry_id, media_id):
    """Move the medium one place ``up`` or ``down`` (the first is the cover)."""
    item, medium = _medium_or_404(entry_id, media_id)
    _checked_form()
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    order = [m.id for m in media.for_entries([item.id]).get(item.id, [])]
    at = order.index(medium.id)
    to = at - 1 if direction == "up" else at + 1
    if 0 <= to < len(order):
        order[at], order[to] = order[to], order[at]
        media.reorder(item.id, order)
        flash(_("The order is saved."), "success")
    return _section(item.id)


@manage_bp.route(f"{MEDIA_RULE}/<{ID_RULE}:media_id>/cover", methods=["POST"])
def media_cover(entry_id, media_id):
    """Make the medium the entry's cover (first)."""
    item, medium = _medium_or_404(entry_id, media_id)
    _checked_form()
    media.set_cover(medium)
    flash(_("The cover is chosen."), "success")
    return _section(item.id)


@manage_bp.route(f"{MEDIA_RULE}/<{ID_RULE}:media_id>/remove", methods=["GET", "POST"])
def media_remove(entry_id, media_id):
    """GET: what removing the medium does (it cannot be undone); POST (the page's Confirm):
    remove it."""
    item, medium = _medium_or_404(entry_id, media_id)
    if request.method == "GET":
        return render_template("manage/media_remove.html", entry=item, medium=medium)
    _checked_form()
    media.remove(medium)
    flash(_("The file is removed."), "success")
    return _section(item.id)
