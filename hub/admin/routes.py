"""Accounts and the audit log, for administrators."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub.accounts import services
from hub.accounts.auth import admin_required
from hub.accounts.forms import InviteForm
from hub.accounts.models import AuditEvent, Role, User
from hub.admin import bp
from hub.extensions import db
from hub.registry.models import Country
from hub.registry.regions import country_choices

AUDIT_PAGE_SIZE = 50


def _invite_form():
    form = InviteForm()
    form.role.choices = [
        (Role.COORDINATOR.value, _("Coordinator")),
        (Role.ADMIN.value, _("Administrator")),
    ]
    codes = db.session.scalars(select(Country.code))
    form.country.choices = [("", _("None (administrator)")), *country_choices(codes)]
    return form


def _users_page(form, invitation_link=None, error=None, status=200):
    users = db.session.scalars(
        select(User).order_by(User.role, User.country_code, User.email)
    ).all()
    return render_template(
        "admin/users.html", users=users, form=form, invitation_link=invitation_link, error=error
    ), status


@bp.route("/users")
@admin_required
def users():
    return _users_page(_invite_form())


@bp.route("/users/invite", methods=["POST"])
@admin_required
def invite():
    form = _invite_form()
    if not form.validate_on_submit():
        return _users_page(form, status=422)
    try:
        token = services.invite(current_user, form.email.data, form.role.data, form.country.data)
    except services.AccountError as exc:
        db.session.rollback()
        return _users_page(form, error=str(exc), status=422)
    link = url_for("accounts.accept_invitation", token=token, _external=True)
    flash(
        _("Invitation created for %(email)s.", email=services.normalize_email(form.email.data)),
        "success",
    )
    return _users_page(_invite_form(), invitation_link=link)


@bp.route("/users/<int:user_id>/<any(enable, disable):change>", methods=["POST"])
@admin_required
def set_active(user_id, change):
    try:
        user = services.set_active(current_user, user_id, change == "enable")
    except services.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        if user.active:
            flash(_("%(email)s can sign in again.", email=user.email), "success")
        else:
            flash(_("%(email)s can no longer sign in.", email=user.email), "success")
    return redirect(url_for(".users"))


@bp.route("/audit")
@admin_required
def audit():
    before = request.args.get("before", type=int)
    stmt = select(AuditEvent).options(selectinload(AuditEvent.actor)).order_by(AuditEvent.id.desc())
    if before:
        stmt = stmt.where(AuditEvent.id < before)
    events = db.session.scalars(stmt.limit(AUDIT_PAGE_SIZE + 1)).all()
    more = len(events) > AUDIT_PAGE_SIZE
    events = events[:AUDIT_PAGE_SIZE]
    return render_template(
        "admin/audit.html", events=events, next_before=events[-1].id if more else None
    )
