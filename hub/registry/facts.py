"""The registry's facts in every language: which fields of which subject are translated, the
seed's translations (``seed/texts/<language>.json``, flat ``{key: text}``) and the texts a page
shows. The texts themselves follow ``hub.texts``, as the entries' do.

A seed key names a fact the way the seed file holds it: ``network.name``,
``sources.<id>.title``, ``countries.<code>.note`` and
``countries.<code>.programmes.<index in the seed's list>.<field>``.

A translator's pages name each fact by what it is about (``places``) and each field by its
label (``field_labels``).
"""

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import Date, cast, literal, null, select, union_all

from hub.extensions import db
from hub.i18n import current_language
from hub.registry.models import MembershipEvent, Programme
from hub.texts import facts as texts

TEXTS_DIR = Path(__file__).parent / "seed" / "texts"
SEED_LANGUAGE = "en"  # the language the seed file's facts are written in

# The translated fields of each subject, in the order their fingerprint joins them.
FIELDS = {
    "network": ("name", "launch_event", "note"),
    "source": ("title",),
    "country": ("note",),
    "programme": ("name", "lead_agency", "rating_scheme", "note"),
    "membership_event": ("note",),
}
NETWORK_KEY = "network"
SUBJECT_NAMES = {
    "network": _l("The network"),
    "source": lazy_pgettext("cited source", "Source"),
    "country": _l("Country"),
    "programme": _l("Programme"),
    "membership_event": _l("Membership change"),
}
FIELD_LABELS = {
    "name": _l("Name"),
    "lead_agency": _l("Lead agency"),
    "rating_scheme": _l("Rating scheme"),
    "launch_event": _l("Launch event"),
    "title": _l("Title"),
    "note": _l("Note"),
}
# The longest text of each field a translation may have, in characters (a note as long as a
# membership change's, hub.registry.services.MAX_NOTE_LENGTH).
TEXT_LIMITS = {
    "name": 200,
    "lead_agency": 300,
    "rating_scheme": 200,
    "launch_event": 300,
    "title": 500,
    "note": 2000,
}


def seed_facts(data):
    """``(seed key, subject, subject key, field, text)`` of every translatable fact of the
    seed ``data`` that has a text; a programme's subject key is ``(country code, index)``,
    the caller turns it into the programme's id."""
    network = data["network"]
    for field in FIELDS["network"]:
        if network.get(field):
            yield f"network.{field}", "network", NETWORK_KEY, field, network[field]
    for key, source in data["sources"].items():
        yield f"sources.{key}.title", "source", key, "title", source["title"]
    for country in data["countries"]:
        code = country["code"]
        if country["note"]:
            yield f"countries.{code}.note", "country", code, "note", country["note"]
        for index, programme in enumerate(country["programmes"]):
            for field in FIELDS["programme"]:
                if programme.get(field):
                    yield (
                        f"countries.{code}.programmes.{index}.{field}",
                        "programme",
                        (code, index),
                        field,
                        programme[field],
                    )


def seed_translations(directory=TEXTS_DIR):
    """``{language: {seed key: text}}`` from the seed's translation files."""
    found = {}
    for path in sorted(Path(directory).glob("*.json")):
        with open(path, encoding="utf-8") as f:
            found[path.stem] = json.load(f)
    return found


def country_subjects(country):
    """The facts of a country, as ``(subject, key)``: the country's own, its programmes', its
    membership events' and its sources'. Its page shows their texts, its history their
    revisions."""
    return [
        ("country", country.code),
        *(("programme", str(p.id)) for p in country.programmes),
        *(("membership_event", str(e.id)) for e in country.membership_events),
        *(("source", s["id"]) for s in country.sources if "id" in s),
    ]


def country_texts(country):
    """The texts of a country's page, read in one query."""
    return texts.load(country_subjects(country))


def programme_texts(programmes):
    """The texts of ``programmes``, read in one query."""
    return texts.load(("programme", p.id) for p in programmes)


def fact(found, subject, key, field, language=None):
    """One field of a fact for a reader of ``language`` (the request's by default)."""
    return found.shown(subject, key, field, language or current_language())


def field_labels(subject):
    """``[(field, label)]`` of the subject's translated fields, in their order."""
    return [(name, str(FIELD_LABELS[name])) for name in FIELDS[subject]]


@dataclass(frozen=True)
class Place:
    """What a fact is about, for a translator: its country (None for the network's and the
    sources' facts), and a programme's acronym or a membership change's status and date."""

    country_code: str | None
    acronym: str | None = None
    status: str | None = None
    effective_on: date | None = None


def places(facts):
    """``{(subject, key): Place}`` of ``facts`` (pairs of subject and key), read in one query
    for the programmes' and membership changes' countries."""
    ids = {"programme": set(), "membership_event": set()}
    found = {}
    for subject, key in facts:
        key = str(key)
        found[(subject, key)] = Place(key if subject == "country" else None)
        if subject in ids and key.isdigit() and len(key) < 10:
            ids[subject].add(int(key))
    if ids["programme"] or ids["membership_event"]:
        events = select(
            literal("membership_event"),
            MembershipEvent.id,
            MembershipEvent.country_code,
            MembershipEvent.status,
            MembershipEvent.effective_on,
        ).where(MembershipEvent.id.in_(sorted(ids["membership_event"])))
        programmes = select(
            literal("programme"),
            Programme.id,
            Programme.country_code,
            Programme.acronym,
            cast(null(), Date),
        ).where(Programme.id.in_(sorted(ids["programme"])))
        for subject, key, code, label, on in db.session.execute(union_all(events, programmes)):
            if subject == "programme":
                found[(subject, str(key))] = Place(code, acronym=label)
            else:
                found[(subject, str(key))] = Place(code, status=label, effective_on=on)
    return found
