"""The sample content a new hub starts with, so that a first visitor sees a living site.

Sample entries are marked as such (``origin = "sample"``) on every page, belong to no partner,
and are read-only for coordinators; ``flask --app wsgi hub remove-demo`` takes them away.
"""

import functools
import hashlib
import json
from datetime import date, time, timedelta
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import select

from hub.accounts.services import record
from hub.db import utcnow, utctoday
from hub.extensions import db
from hub.history import services as history
from hub.media import services as media
from hub.publishing import revisions as rv
from hub.publishing import services
from hub.publishing.models import Entry, EntryStatus, Product

DEMO_FILE = Path(__file__).parent / "seed" / "demo.json"
PHOTOS = Path(__file__).parent / "seed" / "photos"  # and their manifest.json (licences)
SAMPLE = "sample"
DATE_FIELDS = (
    "issued_on",
    "start_date",
    "end_date",
    "rated_on",
    "valid_until",
    "registration_deadline",
)


TIME_FIELDS = ("start_time", "end_time")


def _date(value, today):
    """A date of the seed: ISO, or ``today+N`` (N days after the day the demo is seeded), so a
    sample fair is upcoming whatever the day the hub is set up."""
    if value.startswith("today"):
        return today + timedelta(days=int(value[len("today") :] or 0))
    return date.fromisoformat(value)


def _fields(raw, today=None):
    today = today or utctoday()
    fields = {}
    for key, value in raw.items():
        if key in DATE_FIELDS and value:
            value = _date(value, today)
        elif key in TIME_FIELDS and value:
            value = time.fromisoformat(value)
        fields[key] = value
    return fields


def _link_exhibitors(rows, new):
    """The new sample fairs' exhibitors (``exhibitor_keys``: keys of sample products)."""
    keys = [f"demo:{key}" for row in rows for key in row.get("exhibitor_keys", ())]
    products = {
        e.partner_id: e
        for e in db.session.scalars(
            select(Product).where(Product.origin == SAMPLE, Product.partner_id.in_(keys))
        )
    }
    for row in rows:
        if row["key"] in new and row.get("exhibitor_keys"):
            new[row["key"]].exhibitors = [
                products[f"demo:{key}"]
                for key in row["exhibitor_keys"]
                if f"demo:{key}" in products
            ]


def seed_demo(path=DEMO_FILE, actor=None, photos=PHOTOS):
    """Add the sample entries that are not there yet (published, in their languages); returns
    how many were added (and the audit log says so). Each sample is checked by the same rules
    as a coordinator's entry. The new samples get their photos and documents (``photos``'s
    manifest.json, None for none) through ``hub.media.services``, processed there and then: the
    pages show them at once."""
    with open(path, encoding="utf-8") as f:
        rows = json.load(f)["entries"]
    db.begin_write()
    present = set(db.session.scalars(select(Entry.partner_id).where(Entry.origin == SAMPLE)))
    added = 0
    new = {}
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
        new[row["key"]] = entry
        added += 1
    if added:
        db.session.flush()
        _link_exhibitors(rows, new)
        record(actor, "sample.create", "sample", "demo", count=added)
    db.session.commit()
    if photos is not None and new:
        _seed_photos(photos, {key: entry.id for key, entry in new.items()})
    return added


def _manifest(folder):
    with open(Path(folder) / "manifest.json", encoding="utf-8") as f:
        return json.load(f)["files"]


def _seed_photos(folder, entry_ids):
    """Attach the manifest's files to the new sample entries (``{key: id}``), in order, and
    process them now, synchronously (a dozen small illustrations: well under a second)."""
    added = []
    for item in _manifest(folder):
        entry_id = entry_ids.get(item["entry"])
        if entry_id is not None:
            data = (Path(folder) / item["file"]).read_bytes()
            added.append(media.add(entry_id, item["file"], data, alts=item.get("alts")))
    if added:
        media.process_pending(limit=len(added))


@functools.cache
def _licences(folder=PHOTOS):
    """``{sha256: manifest item}`` of the sample photos: the licence is kept with the file's
    content, whatever entry or copy holds it."""
    found = {}
    for item in _manifest(folder):
        data = (Path(folder) / item["file"]).read_bytes()
        found[hashlib.sha256(data).hexdigest()] = item
    return found


def photo_credits(gallery):
    """What the entry page says of the sample photos it shows (``hub.media.display.Gallery``):
    who made them and under what licence, or None when it shows none of them."""
    licences = _licences()
    shown = [p for p in (*gallery.images, *gallery.documents) if p.sha256 in licences]
    if not shown:
        return None
    return _(
        "The photos and documents of the sample entries are illustrations made for the "
        "OCOP Exchange Hub, dedicated to the public domain (CC0 1.0)."
    )


def remove_demo(actor=None):
    """Delete every sample entry (as tombstones, so partners that copied them learn it), each
    with its "delete" revision; returns how many, which the audit log keeps."""
    db.begin_write()
    samples = db.session.scalars(
        select(Entry).where(Entry.origin == SAMPLE, Entry.deleted_dt.is_(None))
    ).all()
    now = utcnow()
    for entry in samples:
        entry.deleted_dt = now
        entry.change_seq = services.next_change_seq()
        entry.updated_dt = now
    if samples:
        record(actor, "sample.delete", "sample", "demo", count=len(samples))
        # A "delete" revision of each, as every deletion keeps, in one statement.
        history.record_many(
            [history.row(rv.SUBJECT, e.id, "delete", actor, now=now) for e in samples]
        )
    db.session.commit()
    return len(samples)
