"""One's own account (hub.accounts.recovery): the password changed on ``/account``, a
forgotten password reset by a mailed link, the address changed once confirmed."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from hub import sessions
from hub.accounts import bp, notifications, recovery, services
from hub.accounts.forms import ChangeEmailForm, ChangePasswordForm, ForgotForm, PasswordForm
from hub.accounts.routes import account_page
from hub.extensions import csrf, db, limiter
from hub.forms import HubForm


def _reset_limit():
    return current_app.config["PASSWORD_RESET_RATE_LIMIT"]


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            recovery.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except services.AccountError as exc:
            return account_page(password_form=form, password_error=str(exc), status=422)
        # Every session of the account ended with the old password; this one goes on.
        db.begin_write()
        sessions.start(current_user)
        db.session.commit()
        flash(_("Your password is changed. Your other sessions are signed out."), "success")
        return redirect(url_for(".account"))
    return account_page(password_form=form, status=422)


@bp.route("/account/email", methods=["POST"])
@login_required
def change_email():
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            new = recovery.request_email_change(
                current_user, form.new_email.data, form.email_password.data
            )
        except services.AccountError as exc:
            db.session.rollback()
            return account_page(email_form=form, email_error=str(exc), status=422)
        flash(
            _(
                "A link to confirm %(email)s is on its way to that address. Until it is opened, "
                "your account keeps its address.",
                email=new,
            ),
            "success",
        )
        return redirect(url_for(".account"))
    return account_page(email_form=form, status=422)


@bp.route("/account/email/<token>", methods=["GET", "POST"])
def confirm_email(token):
    """The link mailed to a new address: a button (a link opened by a mail program's scanner
    changes nothing), then the change."""
    row = recovery.find_link(token, "email")
    if row is None:
        return _link_invalid()
    form = HubForm()
    if form.validate_on_submit():
        try:
            user = recovery.confirm_email_change(token)
        except recovery.LinkUnusable:
            return _link_invalid()
        except services.AccountError as exc:
            return render_template(
                "accounts/email_confirm.html", form=form, new_email=row.new_email, error=str(exc)
            ), 422
        flash(_("Your account's address is now %(email)s.", email=user.email), "success")
        return redirect(url_for(".account" if current_user.is_authenticated else ".login"))
    return render_template("accounts/email_confirm.html", form=form, new_email=row.new_email)


@bp.route("/password/forgotten", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def forgot_password():
    """The same answer whether the address has an account or not."""
    form = ForgotForm()
    if form.validate_on_submit():
        recovery.request_password_reset(form.email.data)
        return render_template("accounts/password_forgotten.html", form=form, sent=True)
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/password_forgotten.html", form=form, sent=False), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_password(token):
    if recovery.find_link(token, "password") is None:
        return _link_invalid()
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        try:
            recovery.reset_password(token, form.password.data)
        except recovery.LinkUnusable:
            return _link_invalid()
        except services.AccountError as exc:
            error = str(exc)
        else:
            flash(_("Your password is changed. Sign in with it."), "success")
            return redirect(url_for(".login"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "accounts/password_reset.html",
        form=form,
        error=error,
        min_password=services.MIN_PASSWORD_LENGTH,
    ), status


def _link_invalid():
    again = [
        (url_for(".forgot_password"), _("Forgotten your password?")),
        (url_for(".login"), _("Sign in")),
    ]
    return render_template("link_invalid.html", again=again), 410


@bp.route("/account/notifications", methods=["POST"])
@login_required
def notification_choices():
    """Save what the person wants to receive, topic by topic."""
    if not HubForm().validate_on_submit():
        return account_page(status=400)
    db.begin_write()
    for topic in notifications.TOPICS:
        value = request.form.get(f"topic-{topic}")
        if value is not None and not notifications.choose(current_user, topic, value):
            db.session.rollback()
            return account_page(notifications_error=_("Choose one of the options."), status=422)
    if not notifications.choose_translation_languages(
        current_user, request.form.getlist("translate")
    ):
        db.session.rollback()
        return account_page(notifications_error=_("Choose one of the options."), status=422)
    db.session.commit()
    flash(_("Your choices of mail are saved."), "success")
    return redirect(url_for(".account") + "#notifications")


@bp.route("/account/notifications/off/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the proof; mail programs post one-click (RFC 8058) bare
def notifications_off(token):
    """The link at the end of a notification, and its List-Unsubscribe: a button, then the
    topic turned off (no sign-in)."""
    found = notifications.read_off_token(token)
    if found is None:
        return _link_invalid()
    user, topic = found
    label = notifications.TOPICS[topic].label
    if request.method == "POST":
        db.begin_write()
        notifications.choose(user, topic, notifications.OFF)
        db.session.commit()
        return render_template("accounts/notifications_off.html", topic=label, done=True)
    return render_template("accounts/notifications_off.html", topic=label, done=False)
