"""Two-step sign-in's pages: the code asked after the password, and turning it on or off on
one's own account (hub.accounts.totp has the rules)."""

import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user

from hub.accounts import bp, services, totp
from hub.accounts.forms import CodeForm, TwoStepProofForm
from hub.accounts.models import User
from hub.extensions import db, limiter
from hub.i18n import current_language

# The session's keys: a sign-in whose password was right, waiting for its code; the secret
# shown while two-step sign-in is being turned on.
PENDING = "two_step_pending"
ENROLMENT = "two_step_secret"
PENDING_SECONDS = 300
# What an administrator without two-step sign-in may open when HUB_ADMIN_TOTP=required.
_OPEN_BEFORE_ENROLMENT = {"accounts.two_step", "accounts.logout", "static", "site.health"}


def ask_for_code(user, target):
    """The password was right for ``user``, who signs in in two steps: remember that (for a few
    minutes) and ask for the code."""
    session[PENDING] = {
        "user": user.id,
        "next": target,
        "until": int(time.time()) + PENDING_SECONDS,
    }
    return redirect(url_for("accounts.login_code"))


def _pending_user():
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), int):
        return None
    if not isinstance(pending.get("until"), int) or pending["until"] < time.time():
        return None
    user = db.session.get(User, pending["user"])
    return user if user is not None and user.active and user.totp_enabled else None


def _code_key():
    pending = session.get(PENDING)
    user_id = pending.get("user") if isinstance(pending, dict) else None
    return f"login-code:{user_id}"


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_code_key, methods=["POST"])
def login_code():
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash(_("Please sign in again: the sign-in was not finished in time."), "info")
        return redirect(url_for(".login"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        used = totp.check_sign_in_code(user, form.code.data)
        if used is not None:
            target = session.pop(PENDING).get("next")
            login_user(user)
            flash(_("Signed in as %(email)s.", email=user.email), "success")
            if used == "recovery":
                left = totp.recovery_codes_left(user)
                flash(
                    ngettext(
                        "You signed in with a recovery code; %(num)d is left.",
                        "You signed in with a recovery code; %(num)d are left.",
                        left,
                    ),
                    "info",
                )
            lang = user.preferred_language or None
            return redirect(target or url_for("registry.home", **({"lang": lang} if lang else {})))
        error = _("That code is not right, or it has already been used.")
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/login_code.html", form=form, error=error), status


@bp.before_app_request
def require_two_step():
    """With HUB_ADMIN_TOTP=required, an administrator without two-step sign-in turns it on
    before any page (the API, which signs in with tokens, is not concerned)."""
    if not totp.admin_totp_required() or request.blueprint == "api":
        return None
    if request.endpoint in _OPEN_BEFORE_ENROLMENT or not current_user.is_authenticated:
        return None
    if totp.needs_enrolment(current_user):
        flash(_("Administrators of this hub sign in in two steps: turn it on to go on."), "info")
        return redirect(url_for("accounts.two_step", lang=current_language()))
    return None


def _enrolment_secret():
    secret = session.get(ENROLMENT)
    if not isinstance(secret, str) or len(secret) != 32:
        secret = session[ENROLMENT] = totp.new_secret()
    return secret


def _two_step_page(form=None, renew_form=None, off_form=None, error=None, status=200):
    user = current_user
    context = {"error": error, "required": totp.required_for(user)}
    if user.totp_enabled:
        context.update(
            renew_form=renew_form or TwoStepProofForm(formdata=None, prefix="renew"),
            off_form=off_form or TwoStepProofForm(formdata=None, prefix="off"),
            codes_left=totp.recovery_codes_left(user),
        )
    else:
        secret = _enrolment_secret()
        context.update(
            form=form or CodeForm(formdata=None),
            secret=secret,
            qr_code=totp.qr_code_svg(user, secret, _("QR code for your authenticator app")),
        )
    return render_template("accounts/two_step.html", **context), status


def _recovery_codes_page(codes):
    return render_template("accounts/recovery_codes.html", codes=codes)


@bp.route("/account/two-step", methods=["GET", "POST"])
@login_required
def two_step():
    if request.method == "GET":
        return _two_step_page()
    if current_user.totp_enabled:
        return _two_step_page(
            error=_("Two-step sign-in is already on for your account."), status=409
        )
    form = CodeForm()
    if not form.validate_on_submit():
        return _two_step_page(form=form, status=422)
    secret = session.get(ENROLMENT)
    if not isinstance(secret, str):
        return _two_step_page(
            error=_("The page was open too long: scan the new QR code and try again."), status=422
        )
    try:
        codes = totp.enrol(current_user, secret, form.code.data)
    except services.AccountError as exc:
        return _two_step_page(form=form, error=str(exc), status=422)
    session.pop(ENROLMENT, None)
    flash(_("Two-step sign-in is on."), "success")
    return _recovery_codes_page(codes)


@bp.route("/account/two-step/off", methods=["POST"])
@login_required
def two_step_off():
    form = TwoStepProofForm(prefix="off")
    if not form.validate_on_submit():
        return _two_step_page(off_form=form, status=422)
    try:
        totp.disable(current_user, form.proof.data)
    except services.AccountError as exc:
        return _two_step_page(off_form=form, error=str(exc), status=422)
    flash(_("Two-step sign-in is off."), "success")
    return redirect(url_for(".account"))


@bp.route("/account/two-step/recovery-codes", methods=["POST"])
@login_required
def recovery_codes():
    form = TwoStepProofForm(prefix="renew")
    if not form.validate_on_submit():
        return _two_step_page(renew_form=form, status=422)
    try:
        codes = totp.renew_recovery_codes(current_user, form.proof.data)
    except services.AccountError as exc:
        return _two_step_page(renew_form=form, error=str(exc), status=422)
    return _recovery_codes_page(codes)
