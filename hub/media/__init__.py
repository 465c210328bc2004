"""Media: photos and documents attached to entries — validated on upload, processed off the
request into variants, stored locally or in S3-compatible storage, served with long cache
headers. ``hub.media.services`` is the interface for the layers above (docs/media.md);
``hub.media.display`` what the public pages show (``hub/templates/_media.html``)."""

from types import SimpleNamespace

from flask import Blueprint

bp = Blueprint("media", __name__)

from hub.media import cli, display, routes  # noqa: E402,F401


@bp.app_template_global()
def file_size(size):
    """A file's size in the reader's language (``display.file_size``)."""
    from hub.i18n import current_language

    return display.file_size(size, current_language())


bp.add_app_template_global(
    SimpleNamespace(
        cover=display.COVER_SIZES,
        thumb=display.THUMB_SIZES,
        card=display.CARD_SIZES,
        lightbox=display.LIGHTBOX_SIZES,
    ),
    "media_sizes",
)
