"""The administrators' webhook pages: register, pause and resume, delete, send a test event,
and each webhook's delivery log."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from hub.accounts.auth import admin_required
from hub.admin import bp
from hub.db import ID_RULE, parse_id
from hub.extensions import db
from hub.forms import HubForm
from hub.registry.models import Country
from hub.registry.regions import country_choices
from hub.webhooks import delivery, services
from hub.webhooks.models import Webhook, WebhookDelivery

LOG_PAGE_SIZE = 50


def _check_form():
    if not HubForm().validate_on_submit():
        abort(400)


def _webhook_or_404(webhook_id):
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None:
        abort(404)
    return webhook


@bp.route("/webhooks", methods=["GET", "POST"])
@admin_required
def webhooks():
    """Every webhook, and the form that registers one (its secret is shown once)."""
    error, created, values = None, None, {}
    if request.method == "POST":
        _check_form()
        values = {
            "url": request.form.get("url", "").strip(),
            "country": request.form.get("country", "").strip().upper(),
            "from_start": bool(request.form.get("from_start")),
        }
        try:
            created = services.register(
                current_user, values["url"], values["country"], values["from_start"]
            )
        except services.WebhookError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            values = {}
    rows = db.session.scalars(select(Webhook).order_by(Webhook.id.desc()).limit(500)).all()
    return render_template(
        "admin/webhooks.html",
        webhooks=rows,
        countries=country_choices(db.session.scalars(select(Country.code))),
        values=values,
        error=error,
        created=created,
        max_failures=delivery.max_failures(),
    ), (422 if error else 200)


@bp.route(f"/webhooks/<{ID_RULE}:webhook_id>")
@admin_required
def webhook(webhook_id):
    """One webhook and its delivery log, newest first, a page at a time (``?before=``)."""
    hook = _webhook_or_404(webhook_id)
    before = parse_id(request.args.get("before"))
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook.id)
        .order_by(WebhookDelivery.id.desc())
    )
    if before:
        stmt = stmt.where(WebhookDelivery.id < before)
    rows = db.session.scalars(stmt.limit(LOG_PAGE_SIZE + 1)).all()
    more = len(rows) > LOG_PAGE_SIZE
    rows = rows[:LOG_PAGE_SIZE]
    return render_template(
        "admin/webhook.html",
        webhook=hook,
        deliveries=rows,
        next_before=rows[-1].id if more else None,
        max_failures=delivery.max_failures(),
    )


@bp.route(f"/webhooks/<{ID_RULE}:webhook_id>/<any(pause, resume):change>", methods=["POST"])
@admin_required
def webhook_set_enabled(webhook_id, change):
    _check_form()
    _webhook_or_404(webhook_id)
    services.set_enabled(current_user, webhook_id, change == "resume")
    if change == "resume":
        flash(_("The webhook is resumed: the changes not yet delivered follow."), "success")
    else:
        flash(_("The webhook is paused: nothing is sent until it is resumed."), "success")
    return redirect(url_for(".webhook", webhook_id=webhook_id))


@bp.route(f"/webhooks/<{ID_RULE}:webhook_id>/delete", methods=["POST"])
@admin_required
def webhook_delete(webhook_id):
    _check_form()
    _webhook_or_404(webhook_id)
    hook = services.remove(current_user, webhook_id)
    flash(_("The webhook for %(url)s is deleted, with its log.", url=hook.url), "success")
    return redirect(url_for(".webhooks"))


@bp.route(f"/webhooks/<{ID_RULE}:webhook_id>/test", methods=["POST"])
@admin_required
def webhook_test(webhook_id):
    """Send a test event now and say how the partner answered; it is in the log too."""
    _check_form()
    hook = _webhook_or_404(webhook_id)
    ok, status, error = delivery.send_test(hook)
    if ok:
        flash(_("The test event was delivered (the server answered %(status)s).", status=status),
              "success")  # fmt: skip
    elif status is not None:
        flash(_("The test event was not accepted: the server answered %(status)s.",
                status=status), "error")  # fmt: skip
    else:
        flash(_("The test event could not be delivered: %(error)s", error=error), "error")
    return redirect(url_for(".webhook", webhook_id=webhook_id))
