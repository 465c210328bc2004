"""The session cookie: signed, HttpOnly, SameSite=Lax, and Secure whenever the page came over
https (behind a proxy too, once ProxyFix or the server says so), without a setting to forget."""

from flask import request
from flask.sessions import SecureCookieSessionInterface


class SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app):
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app, request):
        # No cookie, nothing to verify: skip building the signer (most visitors and every
        # partner system come without one).
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)
