"""Forms' CSRF protection: Flask-WTF's, also accepting a token signed with a previous secret key
(``HUB_SECRET_KEY_PREVIOUS``), so that changing the key does not refuse the forms people have
open (see docs/security.md, "Changing the secret key")."""

from flask import current_app
from flask_wtf import csrf


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
