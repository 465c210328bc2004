"""Sign-in, sign-out, accepting an invitation, and one's own preferences."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from hub import signin_limits
from hub.accounts import bp, notifications, routes_totp, services
from hub.accounts.auth import safe_next
from hub.accounts.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    LoginForm,
    PasswordForm,
    PreferencesForm,
)
from hub.i18n import language_name, languages


@bp.route("/login", methods=["GET", "POST"])
def login():
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target or url_for("registry.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        address = request.remote_addr
        if wait := signin_limits.wait(form.email.data, address):
            error = ngettext(
                "Too many attempts: wait %(num)s second, then try again.",
                "Too many attempts: wait %(num)s seconds, then try again.",
                wait,
            )
            page = render_template("accounts/login.html", form=form, error=error)
            return page, 429, {"Retry-After": str(wait)}
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            signin_limits.failed(form.email.data, address)
        else:
            signin_limits.succeeded(form.email.data, address)
            if user.totp_enabled:
                return routes_totp.ask_for_code(user, target)
            login_user(user)
            flash(_("Signed in as %(email)s.", email=user.email), "success")
            lang = user.preferred_language or None
            return redirect(target or url_for("registry.home", **({"lang": lang} if lang else {})))
        error = _("The e-mail address or the password is wrong, or the account is disabled.")
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash(_("You are signed out."), "success")
    return redirect(url_for("registry.home"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    invitation = services.find_invitation(token)
    if invitation is None:
        return _invitation_invalid(services.unusable(services.look_up_invitation(token)))
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(token, form.password.data)
        except services.InvitationUnusable as exc:
            # Used, revoked or expired since the form was shown (by someone else at once, say).
            return _invitation_invalid(exc)
        except services.AccountError as exc:
            error = str(exc)
        else:
            login_user(user)
            flash(_("Welcome! Your account is ready."), "success")
            return redirect(url_for("registry.home"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "accounts/invitation.html", form=form, invitation=invitation, error=error
    ), status


def _invitation_invalid(exc):
    """Why a link makes no account, and whom to ask: 404 for a link the hub never made, 410 for
    one used, revoked, replaced or expired."""
    invitation = exc.invitation
    inviter = invitation.created_by if invitation is not None else None
    return render_template(
        "accounts/invitation_invalid.html",
        reason=str(exc),
        state=exc.state,
        invitation=invitation,
        contact=inviter.email if inviter is not None and inviter.active else None,
    ), (404 if exc.state == services.InvitationState.UNKNOWN else 410)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = PreferencesForm()
    # Each language named in itself, and marked so, for screen readers to say it rightly.
    form.language.choices = [(code, language_name(code), {"lang": code}) for code in languages()]
    error = None
    if form.validate_on_submit():
        try:
            services.set_preferred_language(current_user, form.language.data, languages())
        except services.AccountError as exc:
            error = str(exc)
        else:
            flash(_("Your preferences are saved."), "success")
            return redirect(url_for(".account", lang=form.language.data))
    elif request.method == "GET":
        form.language.data = current_user.preferred_language
    status = 422 if request.method == "POST" else 200
    return account_page(form=form, error=error, status=status)


def account_page(status=200, **values):
    """``/account`` with its three forms (preferences, password, address), those given as
    submitted, with their errors (hub.accounts.routes_self posts the last two)."""
    if "form" not in values:
        form = PreferencesForm(formdata=None)
        form.language.choices = [
            (code, language_name(code), {"lang": code}) for code in languages()
        ]
        form.language.data = current_user.preferred_language
        values["form"] = form
    values.setdefault("password_form", ChangePasswordForm(formdata=None))
    values.setdefault("email_form", ChangeEmailForm(formdata=None))
    return render_template(
        "accounts/account.html",
        min_password=services.MIN_PASSWORD_LENGTH,
        topics=notifications.TOPICS,
        chosen=notifications.choices(current_user),
        frequency_labels=notifications.FREQUENCY_LABELS,
        languages=languages(),
        translate=notifications.translation_languages(current_user),
        **values,
    ), status
