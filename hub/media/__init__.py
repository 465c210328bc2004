"""Media: photos and documents attached to entries — validated on upload, processed off the
request into variants, stored locally or in S3-compatible storage, served with long cache
headers. ``hub.media.services`` is the interface for the layers above (docs/media.md)."""

from flask import Blueprint

bp = Blueprint("media", __name__)

from hub.media import cli, routes  # noqa: E402,F401
