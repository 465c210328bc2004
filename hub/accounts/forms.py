"""Account forms (Flask-WTF: every form carries a CSRF token)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, Length

REQUIRED = _l("This field is required.")


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(REQUIRED), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED)])


class PasswordForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED)])


class PreferencesForm(FlaskForm):
    language = SelectField(_l("Preferred language"), validate_choice=False)


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(REQUIRED), Length(max=254)])
    role = SelectField(_l("Role"), validate_choice=False)
    country = SelectField(_l("Country (for a coordinator)"), validate_choice=False)
