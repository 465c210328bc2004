"""Forms of the coordinators' pages. They parse what the browser sends into Python values;
the rules of a valid entry are in ``services`` (shared with the API)."""

import re

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from hub.db import parse_id
from hub.forms import HubForm, HubSubForm
from hub.publishing import vocabulary as v
from hub.publishing.exchange import KIND_FIELDS


def _choices(vocabulary, blank=None):
    choices = [(key, name) for key, name in vocabulary.items()]
    return [("", blank), *choices] if blank is not None else choices


class TextForm(HubForm):
    """An entry's texts in one language (the fields a kind does not use are not shown)."""

    title = StringField(_l("Title"))
    summary = TextAreaField(_l("Summary"))
    body = TextAreaField(_l("Text"))
    lessons = TextAreaField(_l("Lessons learned"))

    def text(self):
        return {name: self[name].data or "" for name in ("title", "summary", "body", "lessons")}


class PolicyForm(HubForm):
    instrument = SelectField(_l("Kind of instrument"), validate_choice=False)
    reference_number = StringField(_l("Reference number"))
    issuing_body = StringField(_l("Issuing body"))
    issued_on = DateField(_l("Issued on"), validators=[Optional()])
    link = URLField(_l("Link to the text"))

    def prepare(self):
        self.instrument.choices = _choices(v.INSTRUMENTS, _l("— choose —"))

    def fields(self):
        return {name: self[name].data for name in KIND_FIELDS["policy"]}


class OutcomeForm(HubSubForm):
    metric = SelectField(_l("Measure"), validate_choice=False)
    value = IntegerField(_l("Figure"), validators=[Optional()])
    unit = StringField(_l("Unit"))


class ExperienceForm(HubForm):
    programme_id = SelectField(_l("Programme"), validate_choice=False)
    policy_ids = SelectMultipleField(_l("Related policies"), validate_choice=False)
    outcomes = FieldList(FormField(OutcomeForm), min_entries=4, max_entries=12)

    def prepare(self, programmes=(), policies=()):
        """``programmes`` and ``policies``: (object, its name or title in the reader's language)."""
        self.programme_id.choices = [("", _l("— none —"))] + [
            (str(p.id), f"{p.acronym} · {name}") for p, name in programmes
        ]
        self.policy_ids.choices = [(str(p.id), title) for p, title in policies]
        for row in self.outcomes:
            row.metric.choices = _choices(v.OUTCOME_METRICS, _l("— choose —"))

    def fields(self):
        return {
            "programme_id": parse_id(self.programme_id.data),
            "policy_ids": [i for i in map(parse_id, self.policy_ids.data or []) if i],
            "outcomes": [row.data for row in self.outcomes],
        }


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class FairForm(HubForm):
    zone_choices = ()  # the zones of the fair's country, suggested beside the field
    venue = StringField(_l("Venue"))
    city = StringField(_l("City"))
    location_country = SelectField(_l("Country of the venue"), validate_choice=False)
    start_date = DateField(_l("First day"), validators=[Optional()])
    end_date = DateField(_l("Last day"), validators=[Optional()])
    all_day = BooleanField(_l("All-day event"))
    start_time = TimeField(_l("Opens at"), validators=[Optional()])
    end_time = TimeField(_l("Closes at"), validators=[Optional()])
    timezone = StringField(_l("Time zone of the venue"))
    fair_status = SelectField(_l("Status of the fair"), validate_choice=False)
    organiser = StringField(_l("Organiser"))
    website = URLField(_l("Website"))
    product_groups = MultiCheckboxField(_l("Product groups"), validate_choice=False)
    registration_deadline = DateField(_l("Registration deadline"), validators=[Optional()])
    exhibitors = SelectMultipleField(_l("Exhibiting products"), validate_choice=False)
    exhibitor_countries = SelectMultipleField(_l("Countries exhibiting"), validate_choice=False)

    def prepare(self, countries=(), products=()):
        """``countries``: (code, name); ``products``: (product, its title as the reader is
        served it, that title's language, its country's name)."""
        self.location_country.choices = [("", _l("— choose —")), *countries]
        self.fair_status.choices = _choices(v.FAIR_STATUSES)
        self.product_groups.choices = _choices(v.PRODUCT_GROUPS)
        # Grouped by country; each title marked with its language where it is not the page's.
        groups = {}
        for p, title, language, country in products:
            groups.setdefault(country, []).append(
                (str(p.id), title, {"lang": language} if language else {})
            )
        self.exhibitors.choices = groups
        self.exhibitor_countries.choices = list(countries)

    def fields(self):
        # The exchange format's fields, with the local dates and times as the form has them.
        names = (*KIND_FIELDS["fair"], "start_date", "end_date", "start_time", "end_time")
        values = {name: self[name].data for name in names}
        values["exhibitors"] = [i for i in map(parse_id, self.exhibitors.data or []) if i]
        return values

    def load(self, fair):
        """Fill the form from a fair (its local dates and times)."""
        self.process(
            obj=fair,
            exhibitors=[str(p.id) for p in fair.exhibitors],
            exhibitor_countries=fair.exhibitor_countries or [],
            start_date=fair.starts_local.date() if fair.starts_local else None,
            end_date=fair.ends_local.date() if fair.ends_local else None,
            start_time=None if fair.all_day or not fair.starts_local else fair.starts_local.time(),
            end_time=None if fair.all_day or not fair.ends_local else fair.ends_local.time(),
        )


# A cell given per language: "vi: Cửa hàng trực tuyến; en: Online shop" (any of the hub's
# languages, each once).
_PER_LANGUAGE = re.compile(r"^\s*(?:[a-z]{2}:[^;]*;\s*)*[a-z]{2}:[^;]*$")


def per_language(cell, languages):
    """A cell written per language (``_PER_LANGUAGE``, every language one of ``languages``),
    as ``{language: text}``; else the cell as it is."""
    if not _PER_LANGUAGE.match(cell):
        return cell
    texts = {}
    for part in cell.split(";"):
        language, _, text = part.strip().partition(":")
        if language not in languages or language in texts:
            return cell
        texts[language] = text.strip()
    return texts


def _cell(value):
    if isinstance(value, dict):
        return "; ".join(f"{language}: {text}" for language, text in value.items() if text)
    return str(value or "")


class RowsField(TextAreaField):
    """A list of objects written one per line, its parts separated by "|" in the order of
    ``keys`` (where to buy: name | web address | address). The parts of ``labels`` may be
    written per language: "vi: …; en: …"."""

    def __init__(self, label=None, keys=(), labels=(), **kwargs):
        super().__init__(label, **kwargs)
        self.keys = keys
        self.labels = labels

    def process_data(self, value):
        if isinstance(value, list):
            value = "\n".join(
                " | ".join(_cell(row.get(key)) for key in self.keys).rstrip(" |")
                for row in value
                if isinstance(row, dict)
            )
        super().process_data(value)

    def rows(self):
        languages = current_app.config["LANGUAGES"]
        rows = []
        for line in (self.data or "").splitlines():
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split("|")]
            row = {key: (parts[i] if i < len(parts) else "") for i, key in enumerate(self.keys)}
            for key in self.labels:
                row[key] = per_language(row[key], languages)
            rows.append(row)
        return rows


class ProductForm(HubForm):
    producer_name = StringField(_l("Producer"))
    producer_type = SelectField(_l("Kind of producer"), validate_choice=False)
    locality = StringField(_l("Locality"))
    product_group = SelectField(_l("Product group"), validate_choice=False)
    rating_scheme = SelectField(_l("Rating scheme"), validate_choice=False)
    stars = IntegerField(_l("Stars"), validators=[Optional()])
    rated_on = DateField(_l("Rated on"), validators=[Optional()])
    valid_until = DateField(_l("Valid until"), validators=[Optional()])
    contact_email = StringField(_l("Producer's e-mail"))
    contact_phone = StringField(_l("Producer's phone"))
    contact_website = URLField(_l("Producer's website"))
    contact_public = BooleanField(_l("Show the producer's contact details on the product's page"))
    latitude = StringField(_l("Latitude"))
    longitude = StringField(_l("Longitude"))
    where_to_buy = RowsField(_l("Where to buy"), keys=("name", "url", "address"), labels=("name",))
    certificates = RowsField(
        _l("Certificates"), keys=("name", "issuer", "issued_on", "url"), labels=("name",)
    )

    def prepare(self):
        self.producer_type.choices = _choices(v.PRODUCER_TYPES, _l("— choose —"))
        self.product_group.choices = _choices(v.PRODUCT_GROUPS, _l("— choose —"))
        self.rating_scheme.choices = _choices(v.RATING_SCHEMES, _l("— not rated —"))

    def fields(self):
        values = {name: self[name].data for name in KIND_FIELDS["product"]}
        values["where_to_buy"] = self.where_to_buy.rows()
        values["certificates"] = self.certificates.rows()
        values["contact_public"] = bool(self.contact_public.data)
        return values


KIND_FORMS = {
    "policy": PolicyForm,
    "experience": ExperienceForm,
    "fair": FairForm,
    "product": ProductForm,
}
