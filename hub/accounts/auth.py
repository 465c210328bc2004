"""Flask-Login wiring and the access decorators the pages use."""

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from hub import sessions
from hub.accounts.models import User
from hub.extensions import db, login_manager


@login_manager.user_loader
def load_user(user_id):
    user = db.session.get(User, int(user_id)) if str(user_id).isdigit() else None
    return user if user is not None and user.active and sessions.live(user) else None


@login_manager.unauthorized_handler
def ask_to_sign_in():
    flash(_("Please sign in to continue."), "info")
    return redirect(url_for("accounts.login", next=safe_next(request.full_path)))


def safe_next(target):
    """``target`` if it is a path on this site, else None (no open redirects). Browsers drop
    tabs and line breaks from addresses, so a slash, a tab and "/evil.example" would leave the
    site: any control character refuses the target."""
    if not target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target.rstrip("?") or None


def user_language():
    """The signed-in user's preferred language, for the locale selector."""
    if current_user and current_user.is_authenticated:
        return current_user.preferred_language
    return None


def admin_required(view):
    """Only signed-in administrators; others are sent to sign in or refused with 403."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper
