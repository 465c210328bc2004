"""The session cookie: signed, HttpOnly, SameSite=Lax, and Secure whenever the page came over
https (behind a proxy too, once ProxyFix or the server says so), without a setting to forget.

A cookie signed with a previous key (``HUB_SECRET_KEY_PREVIOUS``) is accepted and signed again
with the current one in the same answer, so that whoever uses the hub while both keys are set
keeps their session once the previous key is removed. Forms' CSRF tokens signed with a previous
key are accepted the same way (``CSRFProtect``)."""

from flask import current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf import csrf
from itsdangerous import BadSignature


class SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app):
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app, request):
        # No cookie, nothing to verify: skip building the signer (most visitors and every
        # partner system come without one).
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        session = super().open_session(app, request)
        if session and app.config["SECRET_KEY_FALLBACKS"] and not self._current(app, cookie):
            session.modified = True
        return session

    def _current(self, app, cookie):
        """Whether ``cookie`` is signed with the current key (not only with a previous one)."""
        signer = self.get_signing_serializer(app).make_signer(self.salt)
        signer.secret_keys = signer.secret_keys[-1:]
        try:
            signer.unsign(cookie)
        except BadSignature:
            return False
        return True


class CSRFProtect(csrf.CSRFProtect):
    """Flask-WTF's, also accepting a form's token signed with a previous key: one that is good
    under a previous key (in time, for this session) counts as the current key's token."""

    def _get_csrf_token(self):
        token = super()._get_csrf_token()
        fallbacks = current_app.config["SECRET_KEY_FALLBACKS"]
        if not token or not fallbacks or _valid_csrf(token):
            return token
        if any(_valid_csrf(token, key) for key in fallbacks):
            return csrf.generate_csrf()
        return token


def _valid_csrf(token, key=None):
    try:
        csrf.validate_csrf(token, secret_key=key)
    except csrf.ValidationError:
        return False
    return True
