"""The registry's seed (``seed/countries.json``): reading and validating it, the network's own
facts it holds, and loading its countries and programmes into the registry with their texts in
English (the seed file's language) and in the languages of ``seed/texts/`` (see
``hub.registry.facts``). Loading it again changes nothing that is already as the seed says;
``hub seed`` (hub/publishing/cli.py) and the tests load it."""

import functools
import json
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub.extensions import db
from hub.history import services as history
from hub.i18n import fold
from hub.registry import facts
from hub.registry.models import Country, MembershipEvent, MembershipStatus, Programme
from hub.registry.schemas import SeedSchema
from hub.texts import facts as texts
from hub.texts.models import FactText

SEED_FILE = Path(__file__).parent / "seed" / "countries.json"


def load_seed(path=SEED_FILE):
    """Read and validate the seed file; raises ``marshmallow.ValidationError`` if malformed."""
    with open(path, encoding="utf-8") as f:
        return SeedSchema().load(json.load(f))


@functools.cache
def network_facts():
    """The network's own facts from the seed file: name, launch date and event, and whether its
    founding members are confirmed by a source. Read once per process."""
    return SimpleNamespace(**load_seed()["network"])


def _assign(obj, values):
    # Assign only what differs, so that seeding again leaves rows (and updated_dt) untouched.
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def seed_registry(path=SEED_FILE, actor=None):
    """Load the network's countries and programmes from the seed file.

    New countries start with the membership the seed gives them (member for the founding
    members, prospective otherwise), dated at the network's launch. Existing countries keep
    their membership and history: the seed only brings their reference facts up to date.
    Seeding twice changes nothing. The facts' texts are written in English (the seed file's,
    their source language) and in the languages of ``seed/texts/`` (see ``hub.registry.facts``).
    Returns counts of what was created and updated, which the audit log keeps when they are not
    all zero.
    """
    data = load_seed(path)
    db.begin_write()
    session = db.session
    sources = data["sources"]
    launched_on = data["network"]["launched_on"]
    counts = dict.fromkeys(
        (
            "countries_created",
            "countries_updated",
            "programmes_created",
            "programmes_updated",
            "texts_written",
        ),
        0,
    )
    existing = {
        c.code: c
        for c in session.scalars(select(Country).options(selectinload(Country.programmes)))
    }
    seeded = {}  # (country code, index in the seed's list) → programme
    for row in data["countries"]:
        facts = {
            "region": row["region"],
            "founding_member": row["founding_member"],
            "founding_verified": row["founding_member_verified"],
            "verified": row["verified"],
            "note": row["note"],
            "sources": [{"id": key, **sources[key]} for key in row["sources"]],
        }
        country = existing.get(row["code"])
        if country is None:
            status = (
                MembershipStatus.MEMBER if row["founding_member"] else MembershipStatus.PROSPECTIVE
            )
            country = Country(
                code=row["code"], membership_status=status, status_since_on=launched_on, **facts
            )
            session.add(country)
            session.add(
                MembershipEvent(
                    country=country,
                    status=status,
                    previous_status=None,
                    effective_on=launched_on,
                    note="",
                )
            )
            counts["countries_created"] += 1
        elif _assign(country, facts):
            counts["countries_updated"] += 1
        programmes = {p.name: p for p in country.programmes}
        for index, prow in enumerate(row["programmes"]):
            values = {**prow, "sources": [sources[key] for key in prow["sources"]]}
            values["search_text"] = fold(
                " ".join(
                    filter(
                        None,
                        (prow["name"], prow["local_name"], prow["acronym"], prow["lead_agency"]),
                    )
                )
            )
            programme = programmes.get(prow["name"])
            if programme is None:
                programme = Programme(**values)
                country.programmes.append(programme)
                counts["programmes_created"] += 1
            elif _assign(programme, values):
                counts["programmes_updated"] += 1
            seeded[(row["code"], index)] = programme
    session.flush()
    counts["texts_written"] = _seed_texts(data, seeded, actor)
    if any(counts.values()):
        from hub.accounts.services import record

        record(actor, "registry.seed", "registry", "seed", **counts)
    session.commit()
    return counts


def _seed_texts(data, programmes, actor):
    """Write the seed's facts' texts: English as the source, each translation made from the
    current English text unless it did not change (then it stays as old as it was). Each text
    written keeps a revision: "create" for a new one, without its values. Returns the number of
    texts written."""
    translations = facts.seed_translations()
    wanted = {("country", c["code"]): {} for c in data["countries"]}
    wanted.update({("programme", str(p.id)): {} for p in programmes.values()})
    translated = {language: {} for language in translations}
    for seed_key, subject, key, field, text in facts.seed_facts(data):
        key = str(programmes[key].id) if subject == "programme" else key
        wanted.setdefault((subject, key), {})[field] = text
        for language, found in translations.items():
            if found.get(seed_key):
                translated[language].setdefault((subject, key), {})[field] = found[seed_key]
    stored = {
        (row.subject, row.subject_key, row.language): row
        for row in db.session.scalars(
            select(FactText).where(
                FactText.subject.in_(("network", "source", "country", "programme"))
            )
        )
    }
    written = 0
    revisions = []  # one statement for them all: the first load writes thousands of texts
    for (subject, key), fields in wanted.items():
        source_row = stored.get((subject, key, facts.SEED_LANGUAGE))
        if not fields and source_row is None:
            continue
        names = facts.FIELDS[subject]
        source_row, changed = texts.write(
            subject,
            key,
            facts.SEED_LANGUAGE,
            fields,
            names,
            actor=actor,
            existing=source_row,
            action="create" if source_row is None else None,
            revisions=revisions,
        )
        written += changed
        for language, found in translated.items():
            if (subject, key) in found:
                existing = stored.get((subject, key, language))
                _row, changed = texts.write(
                    subject,
                    key,
                    language,
                    found[(subject, key)],
                    names,
                    source=source_row,
                    actor=actor,
                    existing=existing,
                    action="create" if existing is None else None,
                    revisions=revisions,
                )
                written += changed
    history.record_many(revisions)
    return written
