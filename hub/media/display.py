"""What the public pages show of an entry's media: pictures ready for ``<picture>``/``srcset``
(``hub/templates/_media.html`` draws them), built on ``hub.media.services`` (``for_entries``,
``alt_text``, ``file_url``). Only ``ready`` media are shown: a pending or failed one is not.

* ``for_entry(entry_id, language, source_language)``: an entry page's gallery, the cover first:
  ``Gallery(images, documents)``.
* ``covers(entries, language)``: the cover of each entry of a list, ``{entry_id: Picture}``, in
  ONE query for the whole page (never one per row).
"""

from dataclasses import dataclass, field

from hub.media import services

# The width the browser is told an image takes on the page (the ``sizes`` attribute).
COVER_SIZES = "(min-width: 52rem) 48rem, calc(100vw - 2rem)"  # the entry page's cover
THUMB_SIZES = "(min-width: 40rem) 12rem, calc(50vw - 2rem)"  # the gallery's other photos
CARD_SIZES = "8rem"  # a list's card
LIGHTBOX_SIZES = "100vw"


@dataclass
class Picture:
    """One ready medium as a page shows it. ``webp`` and ``jpeg``: ``srcset`` values
    (``url 320w, url 800w…``); ``src``: the fallback JPEG (``jpeg_width`` wide, the widest
    at most ``default_width``); ``width``/``height``: of that JPEG, for the ``width`` and
    ``height`` attributes (the aspect ratio, so no layout shift); ``alt``: the alternative
    text in the reader's language or its fallback (``.text``, ``.language``, ``.fallback``);
    a PDF's ``pdf_url`` and ``pdf_size`` (bytes of the PDF served)."""

    id: int
    kind: str
    cover: bool
    webp: str
    jpeg: str
    src: str
    width: int
    height: int
    largest: str
    alt: object
    pdf_url: str | None = None
    pdf_size: int | None = None
    filename: str | None = None
    sha256: str | None = None


@dataclass
class Gallery:
    """An entry page's media: the photos (cover first) and the documents (PDFs)."""

    images: list = field(default_factory=list)
    documents: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.images or self.documents)


def _srcset(variants, fmt):
    return ", ".join(
        f"{services.file_url(v['key'])} {v['width']}w"
        for v in sorted((v for v in variants if v["format"] == fmt), key=lambda v: v["width"])
    )


def picture(media, language, source_language=None, default_width=800):
    """``Picture`` of a ready medium for a reader of ``language`` (None when it has no image
    variant: nothing to show)."""
    variants = media.variants or ()
    jpegs = sorted((v for v in variants if v["format"] == "jpeg"), key=lambda v: v["width"])
    if not jpegs:
        return None
    fitting = [v for v in jpegs if v["width"] <= default_width] or jpegs[:1]
    fallback = fitting[-1]
    pdf = next((v for v in variants if v["format"] == "pdf"), None)
    return Picture(
        id=media.id,
        kind=media.kind,
        cover=media.position == 0,
        webp=_srcset(variants, "webp"),
        jpeg=_srcset(variants, "jpeg"),
        src=services.file_url(fallback["key"]),
        width=fallback["width"],
        height=fallback["height"],
        largest=services.file_url(jpegs[-1]["key"]),
        alt=services.alt_text(media, language, source_language),
        pdf_url=services.file_url(pdf["key"]) if pdf else None,
        pdf_size=pdf["bytes"] if pdf else None,
        filename=media.filename,
        sha256=media.sha256,
    )


def for_entry(entry_id, language, source_language=None):
    """The ``Gallery`` of entry ``entry_id`` for a reader of ``language`` (its ready media)."""
    gallery = Gallery()
    for media in services.for_entries([entry_id], ready_only=True).get(entry_id, ()):
        shown = picture(media, language, source_language)
        if shown is None:
            continue
        (gallery.documents if media.kind == "pdf" else gallery.images).append(shown)
    return gallery


def covers(entries, language):
    """``{entry_id: Picture}``: each entry's first ready photo (a document's preview when it
    has no photo), in one query for all ``entries`` (objects with ``id`` and
    ``source_language``), small (the 320-pixel variant as ``src``)."""
    entries = {entry.id: entry for entry in entries}
    found = {}
    for entry_id, items in services.for_entries(entries, ready_only=True).items():
        ordered = sorted(items, key=lambda m: m.kind == "pdf")  # photos before documents
        for media in ordered:
            shown = picture(media, language, entries[entry_id].source_language, default_width=320)
            if shown is not None:
                found[entry_id] = shown
                break
    return found


def file_size(size, language):
    """``size`` bytes as a reader of ``language`` reads it ("240 kB", "1,4 MB")."""
    from babel.units import format_unit

    if size < 1000 * 1000:
        return format_unit(max(1, round(size / 1000)), "digital-kilobyte", "short", locale=language)
    return format_unit(size / 1_000_000, "digital-megabyte", "short", "#,##0.#", locale=language)
