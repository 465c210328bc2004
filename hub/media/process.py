"""Making what is served from what was uploaded (the job's work, off the request).

Images are re-encoded, never served as uploaded: the EXIF orientation is applied, then every
piece of metadata (EXIF, GPS, XMP, comments) is left behind, the colours are converted from the
embedded ICC profile to sRGB, and each width of ``WIDTHS`` no wider than the image is written
as WebP and as JPEG (an image narrower than the smallest width keeps its own width: never
upscaled).

PDFs: the first page is rendered (PDFium) as a preview image with the same variants, the text
of the pages is kept for search, and the PDF served is a copy without its document information
and XMP metadata (pikepdf).
"""

import hashlib
import io
from dataclasses import dataclass, field

from PIL import Image, ImageCms, ImageOps

from hub.media.validate import PDFIUM, PILLOW_FORMATS, open_image

WIDTHS = (320, 800, 1600)
WEBP_QUALITY = 80
JPEG_QUALITY = 82
PDF_TEXT_PAGES = 200  # the text of at most this many pages is kept for search
PDF_TEXT_CHARS = 1_000_000
EXTENSIONS = {"webp": "webp", "jpeg": "jpg", "pdf": "pdf"}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass
class Variant:
    """One file to serve: its bytes, format (``webp``, ``jpeg``, ``pdf``) and size in pixels."""

    data: bytes
    format: str
    width: int | None = None
    height: int | None = None

    @property
    def sha256(self):
        return hashlib.sha256(self.data).hexdigest()

    @property
    def extension(self):
        return EXTENSIONS[self.format]


@dataclass
class Processed:
    """What processing made: the variants, the image's (or preview's) size, a PDF's text."""

    variants: list[Variant] = field(default_factory=list)
    width: int | None = None
    height: int | None = None
    text: str | None = None


class ProcessingFailed(Exception):
    """Processing could not be done; ``reason`` is the code kept on the medium."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def to_srgb(image):
    """``image`` in RGB or RGBA, its colours converted from its ICC profile (if any) to sRGB.
    A profile that cannot be read or does not fit the pixels is ignored (taken as sRGB)."""
    icc = image.info.get("icc_profile")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    mode = "RGBA" if has_alpha else "RGB"
    if icc and image.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(
                image, source, _SRGB, outputMode=mode if image.mode != "CMYK" else "RGB"
            )
            if converted is not None:
                image = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    if image.mode != mode:
        image = image.convert(mode)
    image.info = {}  # no EXIF, XMP, ICC or comment may follow it into an encoder
    return image


def widths_for(width):
    """The widths made of an image ``width`` pixels wide: those of ``WIDTHS`` it reaches, or
    its own when it is narrower than the smallest."""
    return sorted({min(w, width) for w in WIDTHS})


def encode(image, target):
    """WebP and JPEG of ``image`` (RGB or RGBA) ``target`` pixels wide, with no metadata."""
    webp, jpeg = io.BytesIO(), io.BytesIO()
    image.save(webp, "WEBP", quality=WEBP_QUALITY, method=4)
    if image.mode == "RGBA":  # JPEG has no transparency: on white
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    image.save(jpeg, "JPEG", quality=JPEG_QUALITY, progressive=True)
    return [
        Variant(webp.getvalue(), "webp", image.width, image.height),
        Variant(jpeg.getvalue(), "jpeg", image.width, image.height),
    ]


def image_variants(image):
    """The variants of a decoded, oriented sRGB ``image``, largest first: each smaller width is
    made from the one above it (quicker than from the original, as good)."""
    variants = []
    current = image
    for target in sorted(widths_for(image.width), reverse=True):
        if current.width != target:
            height = max(1, round(image.height * target / image.width))
            current = current.resize((target, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        variants.extend(encode(current, target))
    return variants


def process_image(data, mime):
    """``Processed`` for an uploaded image (already validated); its width and height are the
    oriented original's."""
    try:
        image, width, height = _decoded(data, mime)
    except OSError as exc:
        raise ProcessingFailed("corrupt") from exc
    image = to_srgb(image)  # the only reference to the decoded pixels goes here
    return Processed(image_variants(image), width, height)


def _decoded(data, mime):
    """The image in ``data``, decoded and turned upright in place, so that no other full-size
    copy stays in memory beside it; and the upright image's width and height."""
    image = open_image(data, PILLOW_FORMATS[mime])
    width, height = image.size
    turned = image.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # a quarter turn
    if turned:
        width, height = height, width
    if image.format == "JPEG" and width > max(WIDTHS):
        # Decode no larger than the widest variant needs: JPEG's DCT scaling is nearly free,
        # and a 12 MP photo is then a quarter of the work.
        wanted = max(WIDTHS), max(1, height * max(WIDTHS) // width)
        image.draft("RGB", wanted[::-1] if turned else wanted)
    image.load()  # reads the whole file (from memory) and lets go of it
    ImageOps.exif_transpose(image, in_place=True)
    return image, width, height


def strip_pdf(data):
    """The PDF without its document information dictionary and XMP metadata."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        if "/Info" in pdf.trailer:
            del pdf.trailer["/Info"]
        if "/Metadata" in pdf.Root:
            del pdf.Root["/Metadata"]
        for page in pdf.pages:
            if "/Metadata" in page.obj:
                del page.obj["/Metadata"]
        out = io.BytesIO()
        pdf.save(out, fix_metadata_version=False, deterministic_id=True)
    return out.getvalue()


def process_pdf(data):
    """``Processed`` for an uploaded PDF: the stripped PDF, the first page's preview images
    (``width``/``height``: the largest preview's) and the text of its pages."""
    import pypdfium2 as pdfium

    try:
        stripped = strip_pdf(data)
    except Exception as exc:  # pikepdf raises its own and qpdf's errors
        raise ProcessingFailed("pdf_unreadable") from exc
    texts = []
    with PDFIUM:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise ProcessingFailed("pdf_unreadable") from exc
        try:
            first = document[0]
            page_width, _page_height = first.get_size()
            scale = max(WIDTHS) / page_width if page_width else 1.0
            bitmap = first.render(scale=min(scale, 8.0))
            preview = bitmap.to_pil().convert("RGB")
            bitmap.close()
            first.close()
            size = 0
            for index in range(min(len(document), PDF_TEXT_PAGES)):
                page = document[index]
                textpage = page.get_textpage()
                text = textpage.get_text_bounded()
                textpage.close()
                page.close()
                texts.append(text)
                size += len(text)
                if size >= PDF_TEXT_CHARS:
                    break
        finally:
            document.close()
    variants = image_variants(preview)
    variants.append(Variant(stripped, "pdf"))
    text = "\n".join(t.strip() for t in texts if t.strip())[:PDF_TEXT_CHARS]
    return Processed(variants, preview.width, preview.height, text or None)
