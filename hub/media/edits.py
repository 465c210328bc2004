"""Writing an entry's media (through ``hub.media.services``): uploads (``add``), alternative
texts (``update``), order and cover (``reorder``, ``set_cover``, ``follow_order``), removal
(``remove``, ``detach``), and the change hooks (``on_change``; ``changed`` calls them, here and
in ``hub.media.pending`` and ``hub.media.housekeeping``).

Each function that writes commits its own transaction, except ``detach`` (the caller's). Files
are written before the row is committed and deleted after the row is gone.
"""

import hashlib

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy import update as sql_update

from hub.db import utcnow
from hub.extensions import db
from hub.history.services import actor_columns
from hub.media import validate
from hub.media.models import Media
from hub.media.storage import original_key, storage
from hub.media.validate import MediaRefused, max_bytes, too_large

MAX_ALT_CHARS = 1000


# ---------------------------------------------------------------------------- changes


def on_change(app, hook):
    """Call ``hook(entry_ids)`` (a set of ids) whenever media change what those entries show,
    inside the transaction that changes them."""
    app.extensions.setdefault("hub.media.change_hooks", []).append(hook)


def changed(entry_ids):
    """Call the hooks registered with ``on_change`` with ``entry_ids`` (None left out), if any."""
    entry_ids = {i for i in entry_ids if i is not None}
    if entry_ids:
        for hook in current_app.extensions.get("hub.media.change_hooks", ()):
            hook(entry_ids)


# ---------------------------------------------------------------------------- writing


def _read(data):
    """The upload's bytes from bytes or a binary stream, reading no more than the limit (and
    one byte to know it is over)."""
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    content = data.read(max_bytes() + 1)
    if len(content) > max_bytes():
        raise too_large(len(content))
    return content


def _clean_alts(alts):
    """``{language: text}`` of the hub's languages, texts stripped, empty ones left out."""
    languages = current_app.config["LANGUAGES"]
    cleaned = {}
    for language, text in (alts or {}).items():
        if language not in languages:
            raise MediaRefused(
                "alt_language",
                _("“%(language)s” is not one of the hub's languages.", language=language),
            )
        text = " ".join(str(text or "").split())
        if len(text) > MAX_ALT_CHARS:
            raise MediaRefused(
                "alt_too_long",
                _(
                    "An alternative text has at most %(max)s characters.",
                    max=MAX_ALT_CHARS,
                ),
            )
        if text:
            cleaned[language] = text
    return cleaned


def add(entry_id, filename, data, alts=None, actor=None):
    """Attach a photo or a document to entry ``entry_id`` and return its ``Media`` row, status
    ``pending`` (committed).

    ``data``: the bytes, or a binary stream (an uploaded file's ``.stream``), read up to
    ``HUB_MEDIA_MAX_BYTES``. ``filename`` is kept for the coordinators' eyes only: the type is
    sniffed from the bytes. ``alts``: ``{language: text}``. ``actor``: the user, the token's
    holder, or ``{"source_id": …}`` for a partner's media (``hub.history.services``).

    Raises ``MediaRefused`` (its ``message`` translated, its ``reason`` a code) for a file the
    hub does not take; nothing is stored then."""
    content = _read(data)
    checked = validate.check(content)
    alts = _clean_alts(alts)
    sha256 = hashlib.sha256(content).hexdigest()
    key = original_key(sha256)
    storage().put(key, content, checked.mime)
    db.begin_write()
    position = db.session.scalar(
        select(func.coalesce(func.max(Media.position) + 1, 0)).where(Media.entry_id == entry_id)
    )
    creator = actor_columns(actor)
    media = Media(
        entry_id=entry_id,
        position=position,
        kind=checked.kind,
        mime=checked.mime,
        filename=(filename or "")[:255] or None,
        sha256=sha256,
        size=len(content),
        width=checked.width,
        height=checked.height,
        status="pending",
        alts=alts,
        variants=[],
        original_key=key,
        created_by_user_id=creator.get("user_id"),
        created_by_token_id=creator.get("token_id"),
        created_by_source_id=creator.get("source_id"),
    )
    db.session.add(media)
    db.session.commit()
    return media


def update(media, alts=None):
    """Replace the medium's alternative texts with ``alts`` (``{language: text}``; a language
    left out or empty is removed); None changes nothing. Returns the medium (committed)."""
    if alts is not None:
        db.begin_write()
        media.alts = _clean_alts(alts)
        media.updated_dt = utcnow()
        changed({media.entry_id})
        db.session.commit()
    return media


def _entry_media(entry_id):
    return db.session.scalars(
        select(Media).where(Media.entry_id == entry_id).order_by(Media.position, Media.id)
    ).all()


def _renumber(items):
    for position, media in enumerate(items):
        if media.position != position:
            media.position = position


def reorder(entry_id, ordered_ids):
    """Put the entry's media in the order of ``ordered_ids`` (each of its media's ids once; the
    first becomes the cover). Returns the media in their new order (committed)."""
    db.begin_write()
    items = {media.id: media for media in _entry_media(entry_id)}
    ordered_ids = [int(i) for i in ordered_ids]
    if sorted(ordered_ids) != sorted(items):
        db.session.rollback()
        raise MediaRefused(
            "order", _("The new order must list each of the entry's photos and documents once.")
        )
    ordered = [items[i] for i in ordered_ids]
    _renumber(ordered)
    changed({entry_id})
    db.session.commit()
    return ordered


def set_cover(media):
    """Make ``media`` its entry's cover (first in order; the others keep their order)."""
    items = _entry_media(media.entry_id)
    order = [media.id] + [m.id for m in items if m.id != media.id]
    return reorder(media.entry_id, order)


def follow_order(entry_id, leading_ids):
    """Put the media ``leading_ids`` first, in that order, and the entry's others after them
    in the order they had (a partner's order, its cover first, before a coordinator's own
    uploads). Ids that are not the entry's are left aside. Writes nothing when the order is
    already so; True when it changed it (committed)."""
    db.begin_write()
    items = _entry_media(entry_id)
    by_id = {media.id: media for media in items}
    leading = [by_id[i] for i in dict.fromkeys(leading_ids) if i in by_id]
    first = {media.id for media in leading}
    ordered = leading + [media for media in items if media.id not in first]
    if all(media.position == position for position, media in enumerate(ordered)):
        db.session.rollback()
        return False
    _renumber(ordered)
    changed({entry_id})
    db.session.commit()
    return True


def remove(media):
    """Remove the medium and, unless another medium has the same original, its files."""
    entry_id, sha256 = media.entry_id, media.sha256
    keys = _keys(media)
    db.begin_write()
    db.session.delete(media)
    db.session.flush()
    if entry_id is not None:
        _renumber(_entry_media(entry_id))
    changed({entry_id})
    db.session.commit()
    shared = set()
    for other in db.session.scalars(select(Media).where(Media.sha256 == sha256)):
        shared |= _keys(other)
    files = storage()
    for key in keys - shared:
        files.delete(key)


def detach(entry_ids):
    """Make the media of ``entry_ids`` orphans, in the caller's transaction (the trash's purge
    calls it): ``cleanup_orphans`` removes them and their files."""
    if entry_ids:
        db.session.execute(
            sql_update(Media)
            .where(Media.entry_id.in_(list(entry_ids)))
            .values(entry_id=None)
            .execution_options(synchronize_session=False)
        )


def _keys(media):
    """The storage keys of the medium's files: its original and its variants."""
    keys = {media.original_key}
    keys.update(v["key"] for v in media.variants or ())
    return keys
