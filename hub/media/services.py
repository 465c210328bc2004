"""The media's interface for the rest of the hub: what the API, the manage pages, the public
pages and the feeds call. Nothing else of ``hub.media`` needs to be imported by them (but
``MediaRefused``, re-exported here).

**Authorization stays with the callers.** These functions take an entry id and do what they
are told: the caller checks first that the user or token may edit that entry (its country),
as it does for the entry itself.

**Transactions.** Each function that writes commits its own transaction (as
``hub.publishing.services`` does), except ``detach``, which runs in the caller's (the trash's
purge). Files are written before the row is committed and deleted after the row is gone, so a
crash leaves at worst a file nobody refers to, which ``cleanup_orphans`` removes later.

**Order and cover.** An entry's media are ordered by ``position``, kept 0, 1, 2… by every
function here; the medium at position 0 is the cover (``set_cover`` moves one there).

**Processing.** ``add`` validates the bytes, stores the original privately and a ``pending``
row, and returns at once; the scheduler's ``process-media`` job (every
``PROCESS_SECONDS``) or ``hub media process`` makes the variants (``process_pending``), and the
row becomes ``ready``, or ``failed`` with a reason code (``failure_message`` says it in the
user's language).

**Changes.** Whenever what an entry shows changes (a medium ready, removed, reordered, its alt
texts), the functions registered with ``on_change(app, fn)`` are called with the entry ids,
inside the transaction, before it commits: the layer above bumps the entries' change sequence
there (the answer cache and the changes feed follow it) without ``hub.media`` importing it.
"""

import hashlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select
from sqlalchemy import update as sql_update

from hub.db import utcnow
from hub.extensions import db
from hub.history.services import actor_columns
from hub.media import process as processing
from hub.media import validate
from hub.media.models import Media
from hub.media.storage import MissingFile, original_key, storage, variant_key
from hub.media.validate import MediaRefused, max_bytes, too_large
from hub.texts.core import resolve

__all__ = [
    "MediaRefused",
    "add",
    "alt_text",
    "check",
    "claim",
    "cleanup_orphans",
    "describe",
    "detach",
    "failure_message",
    "file_url",
    "follow_order",
    "for_entries",
    "for_records",
    "get",
    "on_change",
    "process_pending",
    "record_item",
    "remove",
    "reorder",
    "set_cover",
    "update",
    "with_alt",
]

log = logging.getLogger(__name__)

CLAIM_SECONDS = 600  # a claim older than this is a dead process's: another takes the medium over
PROCESS_SECONDS = 5  # the scheduler looks for pending media this often
CLEANUP_SECONDS = 3600  # and removes orphans this often
ORPHAN_GRACE = timedelta(hours=1)  # a file nobody refers to is removed once this old
MAX_ALT_CHARS = 1000
PROCESS_BATCH = 20


# ---------------------------------------------------------------------------- changes


def on_change(app, hook):
    """Call ``hook(entry_ids)`` (a set of ids) whenever media change what those entries show,
    inside the transaction that changes them."""
    app.extensions.setdefault("hub.media.change_hooks", []).append(hook)


def _changed(entry_ids):
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
        _changed({media.entry_id})
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
    _changed({entry_id})
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
    _changed({entry_id})
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
    _changed({entry_id})
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


# ---------------------------------------------------------------------------- reading


def get(media_id, entry_id=None):
    """The medium ``media_id`` (of entry ``entry_id`` when given), or None."""
    media = db.session.get(Media, media_id)
    if media is None or (entry_id is not None and media.entry_id != entry_id):
        return None
    return media


def for_entries(entry_ids, ready_only=False):
    """``{entry_id: [Media, …]}`` in order (the cover first) for each of ``entry_ids`` that has
    media, in one query; ``ready_only``: only the media whose variants are made (what visitors
    see)."""
    entry_ids = list({i for i in entry_ids if i is not None})
    if not entry_ids:
        return {}
    query = select(Media).where(Media.entry_id.in_(entry_ids))
    if ready_only:
        query = query.where(Media.status == "ready")
    found = {}
    for media in db.session.scalars(query.order_by(Media.entry_id, Media.position, Media.id)):
        found.setdefault(media.entry_id, []).append(media)
    return found


def file_url(key):
    """The absolute URL of variant ``key``: ``HUB_MEDIA_PUBLIC_URL/<key>`` when set, else the
    hub's ``/media/<key>`` (which serves the file, or redirects to the S3 storage). Never a
    presigned URL: those expire, and these URLs travel in feeds."""
    public = current_app.config.get("MEDIA_PUBLIC_URL")
    if public:
        return storage().url(key)
    return url_for("media.file", key=key, _external=True)


def alt_text(media, language, source_language=None):
    """The alternative text for a reader of ``language``, as ``hub.texts.core.Shown``: theirs,
    else ``source_language``'s (default: the first given), else any; ``Shown.text`` is the
    text (None when there is none) and ``Shown.fallback`` says it is in another language."""
    rows = [
        SimpleNamespace(
            language=lang,
            text=text,
            fingerprint=None,
            source_fingerprint=None,
            updated_dt=media.updated_dt,
        )
        for lang, text in (media.alts or {}).items()
    ]
    source_language = source_language or (rows[0].language if rows else None)
    shown = resolve(rows, source_language, language, has_text=lambda row: bool(row.text))
    return SimpleNamespace(
        text=shown.text.text if shown.text is not None else None,
        language=shown.language,
        wanted=language,
        fallback=shown.fallback,
    )


MIME_TYPES = {"webp": "image/webp", "jpeg": "image/jpeg", "pdf": "application/pdf"}


def describe(media, lang, source_language=None):
    """The medium as its entry's owners see it through the API and the manage page: the item
    records carry (``record_item``: ``url``, ``mime``, ``size`` and ``sha256`` of the file at
    ``url``, ``variants``…; while it is not ready, ``url``, ``mime``, ``size`` and ``sha256`` are
    None and ``variants`` empty) with the alternative text in ``lang`` (``with_alt``), and::

    {"id", "status": "pending"|"ready"|"failed", "failure": code or None,
     "failure_message": translated or None, "position", "filename",
     "original": {"mime", "size", "sha256"} of the upload, which is never served}
    """
    item = record_item(media) or {
        "type": media.kind,
        "url": None,
        "mime": None,
        "size": None,
        "sha256": None,
        "width": media.width,
        "height": media.height,
        "cover": media.position == 0,
        "alts": dict(media.alts or {}),
        "variants": [],
    }
    return {
        "id": media.id,
        "status": media.status,
        "failure": media.failure,
        "failure_message": failure_message(media.failure) if media.failure else None,
        "position": media.position,
        "filename": media.filename,
        "original": {"mime": media.mime, "size": media.size, "sha256": media.sha256},
        **with_alt(item, lang, source_language),
    }


def _main_variant(media):
    """The variant a medium travels as: the largest JPEG of an image, the PDF of a document."""
    wanted = "pdf" if media.kind == "pdf" else "jpeg"
    for v in media.variants or ():
        if v["format"] == wanted:
            return v
    return None


def record_item(media):
    """A ready medium as records carry it (the exchange format, the changes feed, the API's
    entries, the feeds): plain JSON values, the same in every language::

    {"type": "image"|"pdf", "url": the largest JPEG or the PDF without metadata (absolute),
     "mime", "size", "sha256", "width", "height": of the file at ``url`` (a PDF: its
     preview's width and height), "cover": bool, "alts": {language: text},
     "variants": [{"url", "mime", "width", "height", "size", "sha256"}, …] largest first}

    ``sha256`` and ``size`` are those of the bytes at ``url``: a hub that follows this one
    fetches them, checks them and keeps them as its original (byte for byte). None for a
    medium that is not ready."""
    main = _main_variant(media)
    if media.status != "ready" or main is None:
        return None
    preview = main if main.get("width") else next(iter(media.variants or ()), {})
    return {
        "type": media.kind,
        "url": file_url(main["key"]),
        "mime": MIME_TYPES[main["format"]],
        "size": main["bytes"],
        "sha256": main["sha256"],
        "width": preview.get("width") or media.width,
        "height": preview.get("height") or media.height,
        "cover": media.position == 0,
        "alts": dict(media.alts or {}),
        "variants": [
            {
                "url": file_url(v["key"]),
                "mime": MIME_TYPES[v["format"]],
                "width": v.get("width"),
                "height": v.get("height"),
                "size": v["bytes"],
                "sha256": v["sha256"],
            }
            for v in media.variants or ()
        ],
    }


def for_records(entry_ids):
    """``{entry_id: [record_item, …]}`` of the ready media of ``entry_ids``, in order (the
    cover first), in one query (``for_entries``): what a page of records carries."""
    return {
        entry_id: [item for item in map(record_item, items) if item is not None]
        for entry_id, items in for_entries(entry_ids, ready_only=True).items()
    }


def with_alt(item, media_alts_language, source_language=None):
    """``record_item`` with the alternative text for a reader of ``media_alts_language``:
    ``alt``, ``alt_language`` and ``alt_fallback`` (as ``describe`` gives them)."""
    shown = alt_text(
        SimpleNamespace(alts=item["alts"], updated_dt=None), media_alts_language, source_language
    )
    return {
        **item,
        "alt": shown.text,
        "alt_language": shown.language,
        "alt_fallback": shown.fallback,
    }


def failure_message(reason):
    """Why processing failed, in the user's language, from the medium's ``failure`` code."""
    messages = {
        "corrupt": _("The file is damaged or incomplete and cannot be read: upload it again."),
        "too_many_pixels": _("The image has more pixels than the hub accepts."),
        "pdf_unreadable": _(
            "The PDF cannot be read: it is damaged, empty or protected by a password."
        ),
        "missing_original": _("The uploaded file is no longer in the storage: upload it again."),
    }
    return messages.get(
        reason, _("The file could not be processed: upload it again, or another file.")
    )


# ---------------------------------------------------------------------------- processing


def claim(media_id, owner, now=None):
    """Take pending medium ``media_id`` for ``owner``, if nobody holds a live claim on it: one
    conditional UPDATE (atomic on SQLite and PostgreSQL), committed. True if it is ours."""
    now = now or utcnow()
    db.begin_write()
    result = db.session.execute(
        sql_update(Media)
        .where(
            Media.id == media_id,
            Media.status == "pending",
            or_(
                Media.claimed_dt.is_(None),
                Media.claimed_dt < now - timedelta(seconds=CLAIM_SECONDS),
            ),
        )
        .values(claimed_by=owner, claimed_dt=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def process_pending(limit=PROCESS_BATCH, owner=None):
    """Process up to ``limit`` pending media, oldest first, each claimed first (``claim``: two
    schedulers never process one twice); returns how many were processed (ready or failed)."""
    owner = owner or f"media:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]
    stale = utcnow() - timedelta(seconds=CLAIM_SECONDS)
    candidates = db.session.scalars(
        select(Media.id)
        .where(
            Media.status == "pending",
            or_(Media.claimed_dt.is_(None), Media.claimed_dt < stale),
        )
        .order_by(Media.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    done = 0
    for media_id in candidates:
        if claim(media_id, owner):
            _process(media_id, owner)
            done += 1
    return done


def _process(media_id, owner):
    media = db.session.get(Media, media_id)
    kind, mime, key = media.kind, media.mime, media.original_key
    db.session.rollback()  # no transaction held while the image is worked on
    files = storage()
    result, failure = None, None
    try:
        data = files.get(key)
        if kind == "pdf":
            result = processing.process_pdf(data)
        else:
            result = processing.process_image(data, mime)
        variants = []
        for variant in result.variants:
            sha256 = variant.sha256
            vkey = variant_key(sha256, variant.extension)
            files.put(vkey, variant.data, MIME_TYPES[variant.format])
            variants.append(
                {
                    "key": vkey,
                    "format": variant.format,
                    "width": variant.width,
                    "height": variant.height,
                    "bytes": len(variant.data),
                    "sha256": sha256,
                }
            )
    except MissingFile:
        failure = "missing_original"
    except MediaRefused as exc:
        failure = exc.reason
    except processing.ProcessingFailed as exc:
        failure = exc.reason
    except Exception:
        log.exception("media %s could not be processed", media_id)
        failure = "error"
    db.begin_write()
    values = {"claimed_by": None, "claimed_dt": None, "updated_dt": utcnow()}
    if failure:
        values.update(status="failed", failure=failure)
    else:
        values.update(
            status="ready",
            failure=None,
            variants=variants,
            width=result.width,
            height=result.height,
            pdf_text=result.text,
        )
    outcome = db.session.execute(
        sql_update(Media)
        .where(Media.id == media_id, Media.claimed_by == owner, Media.status == "pending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if outcome.rowcount == 1 and not failure:
        entry_id = db.session.scalar(select(Media.entry_id).where(Media.id == media_id))
        _changed({entry_id})
    db.session.commit()
    db.session.expire_all()


# ---------------------------------------------------------------------------- housekeeping


def _keys(media):
    keys = {media.original_key}
    keys.update(v["key"] for v in media.variants or ())
    return keys


def _referenced():
    """Every key a medium refers to, with the first medium's id."""
    referenced = {}
    for media_id, key, variants in db.session.execute(
        select(Media.id, Media.original_key, Media.variants)
    ):
        referenced.setdefault(key, media_id)
        for variant in variants or ():
            referenced.setdefault(variant["key"], media_id)
    return referenced


def cleanup_orphans(now=None):
    """Remove the orphans (the scheduler's ``clean-media`` job, every hour): media whose entry
    was purged (``detach``), media failed ``HUB_MEDIA_FAILED_DAYS`` days ago or more, and files
    no medium refers to that are older than ``ORPHAN_GRACE`` (an upload cut off between its
    file and its row). Returns ``{"media": rows removed, "files": files removed}``."""
    now = now or utcnow()
    failed_before = now - timedelta(days=current_app.config.get("MEDIA_FAILED_DAYS", 7))
    db.begin_write()
    gone = db.session.execute(
        select(Media.id, Media.entry_id).where(
            or_(
                Media.entry_id.is_(None),
                (Media.status == "failed") & (Media.updated_dt <= failed_before),
            )
        )
    ).all()
    if gone:
        db.session.execute(
            delete(Media)
            .where(Media.id.in_([media_id for media_id, _entry in gone]))
            .execution_options(synchronize_session=False)
        )
    _changed({entry_id for _media, entry_id in gone})
    db.session.commit()
    db.session.expire_all()
    referenced = _referenced()
    db.session.rollback()
    files = storage()
    removed = 0
    for stored in list(files.files()):
        if stored.key not in referenced and stored.modified_dt <= now - ORPHAN_GRACE:
            files.delete(stored.key)
            removed += 1
    return {"media": len(gone), "files": removed}


@dataclass
class FileReport:
    """What ``check`` found: ``missing`` — (media id, key) a medium refers to that the
    storage lacks; ``unreferenced`` — keys stored that no medium refers to."""

    missing: list = field(default_factory=list)
    unreferenced: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.missing and not self.unreferenced


def check():
    """Compare the media rows with the storage (``hub media check``): a ``FileReport``."""
    referenced = _referenced()
    db.session.rollback()
    stored = {f.key for f in storage().files()}
    return FileReport(
        missing=sorted(
            (media_id, key) for key, media_id in referenced.items() if key not in stored
        ),
        unreferenced=sorted(stored - set(referenced)),
    )
