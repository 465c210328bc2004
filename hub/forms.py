"""The base of every form: Flask-WTF (so every form carries a CSRF token) with WTForms' own
messages translated from the hub's catalogues, since WTForms ships no Vietnamese. A form reads
the request's form fields alone: none of the hub's forms takes a file, so a file sent under a
field's name is that field's validation error, and a JSON body is no form."""

from flask import has_request_context, request
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField

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

        def wrap_formdata(self, form, formdata):
            wrapped = super().wrap_formdata(form, formdata)
            if wrapped is None or wrapped is formdata or not has_request_context():
                return wrapped
            # Flask-WTF's choice from the request: its files beside its form, or its JSON.
            return request.form or None

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if has_request_context() and request.files:
            for field in _text_fields(self):
                if field.name in request.files:
                    field.errors.append(gettext("Send this as a text field, not as a file."))
                    valid = False
        return valid


def _text_fields(fields):
    for field in fields:
        if isinstance(field, FormField):
            yield from _text_fields(field.form)
        elif isinstance(field, FieldList):
            yield from _text_fields(field.entries)
        else:
            yield field


class HubSubForm(Form):
    """A form nested in another (a ``FormField`` row): no CSRF token of its own, and WTForms'
    messages translated as in ``HubForm``."""

    class Meta:
        def get_translations(self, form):
            return _Translations()
