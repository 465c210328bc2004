"""What an upload must be, checked on its bytes before anything is stored.

The type is sniffed from the content (never the name or the Content-Type): JPEG, PNG, WebP,
HEIC (only when ``pillow_heif`` is installed) and PDF; anything else is refused, SVG included
(it can carry scripts). An image is fully decoded, so a truncated or corrupt file is refused
here rather than failing later; a decompression bomb is refused from its header, before a pixel
is decoded (``HUB_MEDIA_MAX_PIXELS``, which is also Pillow's ``Image.MAX_IMAGE_PIXELS``). A
file over ``HUB_MEDIA_MAX_BYTES`` is refused before it is read further.

Each refusal is a ``MediaRefused`` with a reason code and a message in the user's language.
"""

import functools
import importlib.util
import io
import threading
import warnings
from dataclasses import dataclass

from babel.lists import format_list
from flask import current_app
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from PIL import Image

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000  # a 12 MP photo is far below; 60 000 × 60 000 is far above
PDFIUM = threading.Lock()  # PDFium is not thread-safe: one call at a time per process

# HEIC is read only where its plugin is installed; the plugin (and libheif) is loaded at the
# first HEIC file, not when the app starts.
HEIC = importlib.util.find_spec("pillow_heif") is not None


@functools.cache
def register_heif():
    """Teach Pillow to open HEIC files (once per process)."""
    import pillow_heif

    pillow_heif.register_heif_opener()


HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
if HEIC:
    PILLOW_FORMATS["image/heic"] = "HEIF"


class MediaRefused(ValueError):
    """An upload the hub does not take: ``reason`` (a code: ``too_large``, ``empty``,
    ``not_supported``, ``svg``, ``too_many_pixels``, ``corrupt``, ``pdf_unreadable``) and
    ``message`` (translated, for the user)."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Checked:
    """An upload that passed: its kind (``image`` or ``pdf``), MIME type and size in pixels
    (images; None for PDFs)."""

    kind: str
    mime: str
    width: int | None = None
    height: int | None = None


def max_bytes():
    return current_app.config.get("MEDIA_MAX_BYTES", DEFAULT_MAX_BYTES)


def max_pixels():
    return current_app.config.get("MEDIA_MAX_PIXELS", DEFAULT_MAX_PIXELS)


def accepted_types():
    """The accepted types' names, in the user's language's list style."""
    names = ["JPEG", "PNG", "WebP", *(["HEIC"] if HEIC else []), "PDF"]
    return format_list(names, locale=get_locale())


def sniff(data):
    """The MIME type of ``data`` from its first bytes, or None when it is no accepted type."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if HEIC and data[4:8] == b"ftyp" and data[8:12] in HEIC_BRANDS:
        return "image/heic"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _looks_like_svg(data):
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return b"<svg" in head


def too_large(size):
    return MediaRefused(
        "too_large",
        _(
            "The file is larger than %(max)s MB, the most the hub accepts.",
            max=format_decimal(round(max_bytes() / (1024 * 1024), 1)),
        ),
    )


def check(data):
    """``Checked`` for acceptable ``data`` (bytes), else ``MediaRefused``."""
    if not data:
        raise MediaRefused("empty", _("The file is empty."))
    if len(data) > max_bytes():
        raise too_large(len(data))
    mime = sniff(data)
    if mime is None:
        if _looks_like_svg(data):
            raise MediaRefused(
                "svg",
                _("SVG images are refused, as they can hold scripts: upload a PNG or a JPEG."),
            )
        raise MediaRefused(
            "not_supported",
            _(
                "The file is not one of the types the hub accepts (%(types)s); the hub reads "
                "its content, not its name.",
                types=accepted_types(),
            ),
        )
    if mime == "application/pdf":
        check_pdf(data)
        return Checked("pdf", mime)
    width, height = check_image(data, PILLOW_FORMATS[mime])
    return Checked("image", mime, width, height)


def _corrupt():
    return MediaRefused(
        "corrupt", _("The file is damaged or incomplete and cannot be read: upload it again.")
    )


def open_image(data, pillow_format, limit=None):
    """The image in ``data``, opened (its header read, no pixel decoded yet), refusing one of
    more than ``limit`` pixels (``HUB_MEDIA_MAX_PIXELS``) from its declared size."""
    limit = limit or max_pixels()
    Image.MAX_IMAGE_PIXELS = limit  # Pillow's own guard, for every later open too
    if pillow_format == "HEIF":
        register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[pillow_format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(None, None, limit) from None
    except (OSError, SyntaxError, ValueError):
        raise _corrupt() from None
    if image.width * image.height > limit:
        raise _too_many_pixels(image.width, image.height, limit)
    return image


def _too_many_pixels(width, height, limit):
    if width is None:
        message = _(
            "The image has more than %(max)s pixels, the most the hub accepts.",
            max=format_decimal(limit),
        )
    else:
        message = _(
            "The image is %(width)s × %(height)s pixels, more than the %(max)s pixels the hub "
            "accepts.",
            width=format_decimal(width),
            height=format_decimal(height),
            max=format_decimal(limit),
        )
    return MediaRefused("too_many_pixels", message)


def check_image(data, pillow_format):
    """The image's size, after decoding every pixel (a truncated file fails here)."""
    image = open_image(data, pillow_format)
    try:
        with image:
            image.load()
            return image.width, image.height
    except (OSError, SyntaxError, ValueError, EOFError):
        raise _corrupt() from None


def check_pdf(data):
    """A PDF that PDFium opens, with at least one page and no password."""
    import pypdfium2 as pdfium

    try:
        with PDFIUM:
            document = pdfium.PdfDocument(data)
            try:
                pages = len(document)
            finally:
                document.close()
    except pdfium.PdfiumError:
        pages = 0
    if pages < 1:
        raise MediaRefused(
            "pdf_unreadable",
            _("The PDF cannot be read: it is damaged, empty or protected by a password."),
        )
