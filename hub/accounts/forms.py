"""Account forms (Flask-WTF: every form carries a CSRF token)."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from hub.forms import HubForm

REQUIRED = _l("This field is required.")


class LoginForm(HubForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(REQUIRED), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED)])


class PasswordForm(HubForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED)])


class PreferencesForm(HubForm):
    language = SelectField(_l("Preferred language"), validate_choice=False)


class InviteForm(HubForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(REQUIRED), Length(max=254)])
    role = SelectField(_l("Role"), validate_choice=False)
    country = SelectField(_l("Country (for a coordinator)"), validate_choice=False)
    language = SelectField(_l("Language of the link"), validate_choice=False)


class CodeForm(HubForm):
    code = StringField(
        _l("Code from your app"), validators=[DataRequired(REQUIRED), Length(max=64)]
    )


class TwoStepProofForm(HubForm):
    proof = PasswordField(
        _l("A code from your app, or your password"),
        validators=[DataRequired(REQUIRED), Length(max=1024)],
    )


class ChangePasswordForm(HubForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(REQUIRED), Length(max=1024)]
    )
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(REQUIRED), Length(max=1024)]
    )


class ChangeEmailForm(HubForm):
    new_email = EmailField(
        _l("New e-mail address"), validators=[DataRequired(REQUIRED), Length(max=254)]
    )
    email_password = PasswordField(
        _l("Current password"), validators=[DataRequired(REQUIRED), Length(max=1024)]
    )


class ForgotForm(HubForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(REQUIRED), Length(max=254)])
