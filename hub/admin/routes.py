"""Accounts and the audit log, for administrators."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub import sessions
from hub.accounts import services
from hub.accounts.auth import admin_required
from hub.accounts.forms import InviteForm
from hub.accounts.models import ApiToken, AuditEvent, Role, User
from hub.admin import bp
from hub.db import ID_RULE, parse_id, utcnow
from hub.extensions import db
from hub.forms import HubForm
from hub.i18n import language_name, languages
from hub.outbox import transport as mail_transport
from hub.publishing.vocabulary import KIND_NAMES
from hub.registry.models import Country, MembershipStatus
from hub.registry.queries import get_country
from hub.registry.regions import country_choices, territory_name
from hub.registry.services import (
    ALLOWED_CHANGES,
    STATUS_LABELS,
    RegistryError,
    change_membership,
    latest_possible_date,
)

AUDIT_PAGE_SIZE = 50
USERS_PAGE_SIZE = 50

# What the audit log's action codes ("policy.published") say to a reader.
ACTION_VERBS = {
    "create": _l("created"),
    "update": _l("details changed"),
    "text": _l("source text changed"),
    "translate": _l("translated"),
    "confirm_translation": _l("translation marked as up to date with the original"),
    "published": _l("published"),
    "archived": _l("archived"),
    "draft": _l("returned to draft"),
    "delete": _l("deleted"),
    "restore": _l("restored from the trash"),
    "revert": _l("earlier version restored"),
    "purge": _l("purged"),
    "invite": _l("invited"),
    "accept_invitation": _l("invitation accepted"),
    "enable": _l("enabled"),
    "disable": _l("disabled"),
    "revoke": _l("revoked"),
    "sign_in": _l("signed in"),
    "sign_in_limited": _l("sign-in slowed down after too many wrong passwords"),
    "sign_out_everywhere": _l("signed out everywhere"),
    "password": _l("password changed"),
    "password_reset": _l("password reset with a mailed link"),
    "email": _l("e-mail address changed"),
    "seed": _l("loaded from the seed file"),
    "pause": _l("paused"),
    "totp_enable": _l("two-step sign-in turned on"),
    "totp_disable": _l("two-step sign-in turned off"),
    "recovery_code_use": _l("signed in with a recovery code"),
    "recovery_codes_renew": _l("new recovery codes made"),
    "send_again": _l("sent again"),
    # Membership changes ("country.member"): the new status.
    **{status: label for status, label in STATUS_LABELS.items()},
}
OBJECT_NAMES = {
    "user": _l("Account"),
    "invitation": _l("Invitation"),
    "token": _l("API token"),
    "source": _l("Partner source"),
    "country": _l("Country"),
    "registry": _l("Registry"),
    "fact": _l("Registry fact"),
    "sample": _l("Sample entries"),
    "trash": _l("Trash"),
    "webhook": _l("Webhook"),
    "mail": _l("E-mail message"),
    **{kind: names[0] for kind, names in KIND_NAMES.items()},
}


@bp.app_template_global()
def audit_action(event):
    """An audit event's action in the reader's language ("Policy: published")."""
    verb = event.action.partition(".")[2]
    return _(
        "%(object)s: %(action)s",
        object=OBJECT_NAMES.get(event.object_type, event.object_type),
        action=ACTION_VERBS.get(verb, verb),
    )


def _invite_form(blank=False):
    """The invitation form: as submitted, or ``blank`` (after an invitation is made)."""
    form = InviteForm(formdata=None) if blank else InviteForm()
    form.role.choices = [
        (Role.COORDINATOR.value, _("Coordinator")),
        (Role.ADMIN.value, _("Administrator")),
    ]
    codes = db.session.scalars(select(Country.code))
    form.country.choices = [("", _("None (administrator)")), *country_choices(codes)]
    # Each language named in itself, and marked so, for screen readers to say it rightly.
    form.language.choices = [(code, language_name(code), {"lang": code}) for code in languages()]
    if blank or not form.is_submitted():
        form.language.data = services.default_invitation_language(current_user)
    return form


def _users_page(form, new_invitation=None, error=None, status=200):
    users = db.session.scalars(
        select(User).order_by(User.role, User.country_code, User.email)
    ).all()
    link = None
    if new_invitation is not None:
        link = url_for(
            "accounts.accept_invitation",
            lang=new_invitation.invitation.language,
            token=new_invitation.token,
            _external=True,
        )
    return render_template(
        "admin/users.html",
        users=users,
        invitations=services.pending_invitations(current_user),
        form=form,
        invitation_link=link,
        new_invitation=new_invitation.invitation if new_invitation else None,
        mail_goes_to=mail_transport.describe()[0],
        error=error,
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
        new = services.create_invitation(
            current_user, form.email.data, form.role.data, form.country.data, form.language.data
        )
    except services.AccountError as exc:
        db.session.rollback()
        return _users_page(form, error=str(exc), status=422)
    _flash_new_invitation(new)
    return _users_page(_invite_form(blank=True), new_invitation=new)


def _flash_new_invitation(new):
    flash(_("Invitation created for %(email)s.", email=new.invitation.email), "success")
    if new.replaced:
        flash(
            _("The earlier link for %(email)s no longer works.", email=new.invitation.email),
            "info",
        )


@bp.route(f"/users/invitations/<{ID_RULE}:invitation_id>/new-link", methods=["POST"])
@admin_required
def renew_invitation(invitation_id):
    """A new link for a pending invitation; the old one stops working. Shown once, here."""
    if not HubForm().validate_on_submit():
        abort(400)
    try:
        new = services.renew_invitation(current_user, invitation_id)
    except services.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".users"))
    _flash_new_invitation(new)
    return _users_page(_invite_form(blank=True), new_invitation=new)


@bp.route(f"/users/invitations/<{ID_RULE}:invitation_id>/revoke", methods=["POST"])
@admin_required
def revoke_invitation(invitation_id):
    if not HubForm().validate_on_submit():
        abort(400)
    try:
        invitation = services.revoke_invitation(current_user, invitation_id)
    except services.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(
            _("The invitation for %(email)s is revoked: its link no longer works.",
              email=invitation.email),
            "success",
        )  # fmt: skip
    return redirect(url_for(".users"))


@bp.route(f"/users/<{ID_RULE}:user_id>/<any(enable, disable):change>", methods=["POST"])
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


@bp.route(f"/users/<{ID_RULE}:user_id>/sign-out", methods=["POST"])
@admin_required
def sign_out_everywhere(user_id):
    """End every session of the account: each browser it is signed in on has to sign in again."""
    db.begin_write()
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    ended = sessions.end_all(user.id)
    services.record(
        current_user, "user.sign_out_everywhere", "user", user.id, user.country_code, ended=ended
    )
    db.session.commit()
    flash(_("%(email)s is signed out everywhere.", email=user.email), "success")
    return redirect(url_for(".users"))


@bp.route("/audit")
@admin_required
def audit():
    before = parse_id(request.args.get("before"))
    stmt = select(AuditEvent).options(selectinload(AuditEvent.actor)).order_by(AuditEvent.id.desc())
    if before:
        stmt = stmt.where(AuditEvent.id < before)
    events = db.session.scalars(stmt.limit(AUDIT_PAGE_SIZE + 1)).all()
    more = len(events) > AUDIT_PAGE_SIZE
    events = events[:AUDIT_PAGE_SIZE]
    return render_template(
        "admin/audit.html", events=events, next_before=events[-1].id if more else None
    )


@bp.route("/tokens", methods=["GET", "POST"])
@admin_required
def tokens():
    """API tokens: issue one (its secret is shown once), see each one's last use, revoke."""
    from hub.api.auth import issue_token

    error, secret, values = None, None, {"days": 365}
    if request.method == "POST":
        if not HubForm().validate_on_submit():
            abort(400)
        values = {
            "name": request.form.get("name", "").strip(),
            "country": request.form.get("country", "").strip().upper(),
            "days": parse_id(request.form.get("days")) or 0,
        }
        if not values["name"] or len(values["name"]) > 200:
            error = _("Say who or what will hold the token (at most 200 characters).")
        elif db.session.get(Country, values["country"]) is None:
            error = _("Choose a country of the registry.")
        elif not 1 <= values["days"] <= 3650:
            error = _("A token lasts 1 to 3650 days.")
        else:
            _token, secret = issue_token(
                values["name"], values["country"], values["days"], actor=current_user
            )
            values = {"days": 365}
    rows = db.session.scalars(select(ApiToken).order_by(ApiToken.id.desc()).limit(200)).all()
    return render_template(
        "admin/tokens.html",
        tokens=rows,
        countries=country_choices(db.session.scalars(select(Country.code))),
        values=values,
        error=error,
        secret=secret,
        now=utcnow(),
    ), (422 if error else 200)


@bp.route(f"/tokens/<{ID_RULE}:token_id>/revoke", methods=["POST"])
@admin_required
def revoke(token_id):
    from hub.api.auth import revoke_token

    if not HubForm().validate_on_submit():
        abort(400)
    if revoke_token(token_id, actor=current_user) is None:
        abort(404)
    flash(_("The token is revoked: it no longer opens the API."), "success")
    return redirect(url_for(".tokens"))


@bp.route("/countries/<code>/membership", methods=["GET", "POST"])
@admin_required
def membership(code):
    """Record a change of a country's membership: the new status, the day it took effect and
    a note; the rules of ``change_membership`` apply and its refusals are shown on the form."""
    country = get_country(code.upper()) if len(code) == 2 and code.isascii() else None
    if country is None:
        abort(404)
    error = None
    values = {"on": latest_possible_date().isoformat(), "status": "", "note": ""}
    if request.method == "POST":
        if not HubForm().validate_on_submit():
            abort(400)
        values = {k: request.form.get(k, "") for k in ("status", "on", "note")}
        try:
            change_membership(
                country.code, values["status"], values["on"], values["note"], actor=current_user
            )
        except RegistryError as exc:
            error = str(exc)
        else:
            flash(
                _(
                    "%(country)s is now: %(status)s.",
                    country=territory_name(country.code),
                    status=STATUS_LABELS[MembershipStatus(values["status"].strip().lower())],
                ),
                "success",
            )
            return redirect(url_for("registry.country", code=country.code))
    current = MembershipStatus(country.membership_status)
    return render_template(
        "admin/membership.html",
        country=country,
        choices=[(s.value, STATUS_LABELS[s]) for s in ALLOWED_CHANGES[current]],
        current=STATUS_LABELS[current],
        values=values,
        error=error,
    ), (422 if error else 200)
