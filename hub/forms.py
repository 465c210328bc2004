"""The base of every form: Flask-WTF (so every form carries a CSRF token) with WTForms' own
messages translated from the hub's catalogues, since WTForms ships no Vietnamese."""

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form

# WTForms' messages that our fields can produce, marked here so that they are extracted into the
# hub's catalogues and translated with everything else.
WTFORMS_MESSAGES = (
    _l("Not a valid date value."),
    _l("Not a valid time value."),
    _l("Not a valid datetime value."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid float value."),
    _l("Not a valid choice."),
    _l("The CSRF token is missing."),
    _l("The CSRF token is invalid."),
    _l("The CSRF token has expired."),
    _l("The CSRF tokens do not match."),
    _l("This field is required."),
)


class _Translations:
    def gettext(self, string):
        return gettext(string)

    def ngettext(self, singular, plural, n):
        return ngettext(singular, plural, n)


class HubForm(FlaskForm):
    class Meta:
        def get_translations(self, form):
            return _Translations()


class HubSubForm(Form):
    """A form nested in another (a ``FormField`` row): no CSRF token of its own, and WTForms'
    messages translated as in ``HubForm``."""

    class Meta:
        def get_translations(self, form):
            return _Translations()
