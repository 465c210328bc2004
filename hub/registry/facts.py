"""The registry's facts in every language: which fields of which subject are translated, the
seed's translations (``seed/texts/<language>.json``, flat ``{key: text}``) and the texts a page
shows. The texts themselves follow ``hub.texts``, as the entries' do.

A seed key names a fact the way the seed file holds it: ``network.name``,
``sources.<id>.title``, ``countries.<code>.note`` and
``countries.<code>.programmes.<index in the seed's list>.<field>``.
"""

import json
from pathlib import Path

from hub.i18n import current_language
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
