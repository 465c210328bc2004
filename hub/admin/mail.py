"""The mail outbox, for administrators: where mail goes, each message's state and last error,
and "Send again" for a failed one (hub.outbox)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from hub.accounts.auth import admin_required
from hub.accounts.services import record
from hub.admin import bp
from hub.db import ID_RULE, parse_id
from hub.extensions import db
from hub.forms import HubForm
from hub.outbox import delivery, transport
from hub.outbox.models import MailMessage, MailStatus

PAGE_SIZE = 50
STATUS_LABELS = {
    MailStatus.PENDING: _l("Waiting to be sent"),
    MailStatus.SENT: _l("Sent"),
    MailStatus.FAILED: _l("Failed"),
}


@bp.app_template_global()
def as_code(text):
    """``text`` in ``<code>`` (a setting's name, a path), escaped."""
    return Markup("<code>{}</code>").format(text)


@bp.app_template_global()
def mail_status_label(status):
    return STATUS_LABELS.get(status, status)


@bp.route("/mail")
@admin_required
def mail():
    """The outbox's messages newest first, of one status or all, paginated by id."""
    status = request.args.get("status", "")
    if status not in ("", *MailStatus):
        status = ""
    stmt = select(MailMessage).order_by(MailMessage.id.desc())
    if status:
        stmt = stmt.where(MailMessage.status == status)
    if (before := parse_id(request.args.get("before"))) is not None:
        stmt = stmt.where(MailMessage.id < before)
    messages = db.session.scalars(stmt.limit(PAGE_SIZE + 1)).all()
    more = len(messages) > PAGE_SIZE
    messages = messages[:PAGE_SIZE]
    where, place = transport.describe()
    return render_template(
        "admin/mail.html",
        messages=messages,
        status=status,
        statuses=list(MailStatus),
        next_before=messages[-1].id if more else None,
        mail_goes_to=where,
        mail_place=place,
    )


@bp.route(f"/mail/<{ID_RULE}:message_id>/send-again", methods=["POST"])
@admin_required
def send_mail_again(message_id):
    """A failed message back in the outbox, tried again from now."""
    if not HubForm().validate_on_submit():
        abort(400)
    if delivery.send_again(message_id):
        record(current_user, "mail.send_again", "mail", message_id)
        db.session.commit()
        flash(_("The message will be sent again within a minute."), "success")
    else:
        db.session.rollback()
        flash(_("Only a failed message can be sent again."), "error")
    return redirect(url_for("admin.mail", status=request.args.get("status") or None))
