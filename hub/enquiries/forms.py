"""The buyer's enquiry form and the coordinator's status form."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField

from hub.enquiries.models import EnquiryStatus
from hub.forms import HubForm


class EnquiryForm(HubForm):
    name = StringField(_l("Your name"))
    organisation = StringField(_l("Organisation"))
    email = StringField(_l("E-mail"))
    country = SelectField(_l("Your country"), validate_choice=False)
    quantity = StringField(_l("Quantity"))
    message = TextAreaField(_l("Message"))
    # The honeypot: hidden from people (CSS and aria-hidden), filled in by form-filling robots.
    website = StringField(_l("Leave this field empty"))

    def prepare(self, countries):
        # No silent default: the buyer chooses their country.
        self.country.choices = [("", _l("— choose —")), *countries]

    def fields(self):
        return {
            name: self[name].data
            for name in ("name", "organisation", "email", "country", "quantity", "message")
        }


STATUS_LABELS = {
    EnquiryStatus.NEW: _l("New"),
    EnquiryStatus.ANSWERED: _l("Answered"),
    EnquiryStatus.CLOSED: _l("Closed"),
}


class StatusForm(HubForm):
    status = SelectField(_l("Status"), validate_choice=False)

    def prepare(self):
        self.status.choices = [(s.value, label) for s, label in STATUS_LABELS.items()]
