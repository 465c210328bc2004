"""Reading an entry's media (through ``hub.media.services``): one medium (``get``), the media of
many entries in one query (``for_entries``, ``for_records``), a medium as records carry it
(``record_item``, ``with_alt``) and as its owners see it (``describe``), the URL of a file
(``file_url``), alternative texts in a reader's language (``alt_text``) and why processing
failed (``failure_message``).
"""

from types import SimpleNamespace

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from hub.extensions import db
from hub.media.models import Media
from hub.media.storage import storage
from hub.texts.core import resolve


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
