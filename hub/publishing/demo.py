"""The sample content a new hub starts with, so that a first visitor sees a living site.

Sample entries are marked as such (``origin = "sample"``) on every page, belong to no partner,
and are read-only for coordinators; ``flask --app wsgi hub remove-demo`` takes them away.
"""

import json
from datetime import date
from pathlib import Path

from sqlalchemy import select

from hub.accounts.services import record
from hub.db import utcnow
from hub.extensions import db
from hub.publishing import services
from hub.publishing.models import Entry, EntryStatus

DEMO_FILE = Path(__file__).parent / "seed" / "demo.json"
SAMPLE = "sample"
DATE_FIELDS = (
    "issued_on",
    "start_date",
    "end_date",
    "rated_on",
    "valid_until",
    "registration_deadline",
)


def _fields(raw):
    return {k: date.fromisoformat(v) if k in DATE_FIELDS and v else v for k, v in raw.items()}


def seed_demo(path=DEMO_FILE, actor=None):
    """Add the sample entries that are not there yet (published, in their languages); returns
    how many were added (and the audit log says so). Each sample is checked by the same rules
    as a coordinator's entry."""
    with open(path, encoding="utf-8") as f:
        rows = json.load(f)["entries"]
    db.begin_write()
    present = set(db.session.scalars(select(Entry.partner_id).where(Entry.origin == SAMPLE)))
    added = 0
    for row in rows:
        key = f"demo:{row['key']}"
        if key in present:
            continue
        kind, country, source = row["kind"], row["country"], row["source_language"]
        errors = {}
        values = services.FIELD_RULES[kind](_fields(row["fields"]), country, errors)
        texts = {}
        for language, text in row["texts"].items():
            texts[language], text_errors = services.clean_text(kind, language, text)
            errors.update(text_errors)
        if errors:
            db.session.rollback()
            raise ValueError(f"sample entry {row['key']} is not valid: {errors}")
        entry = services.MODELS[kind](
            country_code=country,
            status=EntryStatus.PUBLISHED,
            published_dt=utcnow(),
            source_language=source,
            origin=SAMPLE,
            partner_id=key,
            change_seq=services.next_change_seq(),
            **values,
        )
        db.session.add(entry)
        source_text = services.apply_text(entry, source, texts.pop(source), None, None)
        for language, text in texts.items():
            services.apply_text(entry, language, text, None, source_text.fingerprint)
        added += 1
    if added:
        record(actor, "sample.create", "sample", "demo", count=added)
    db.session.commit()
    return added


def remove_demo(actor=None):
    """Delete every sample entry (as tombstones, so partners that copied them learn it);
    returns how many, which the audit log keeps."""
    db.begin_write()
    samples = db.session.scalars(
        select(Entry).where(Entry.origin == SAMPLE, Entry.deleted_dt.is_(None))
    ).all()
    for entry in samples:
        entry.deleted_dt = utcnow()
        entry.change_seq = services.next_change_seq()
        entry.updated_dt = utcnow()
    if samples:
        record(actor, "sample.delete", "sample", "demo", count=len(samples))
    db.session.commit()
    return len(samples)
