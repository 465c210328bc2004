"""``/media/<key>``: the variants, and nothing else (originals are never served).

Local storage: the file itself, cached for a year as immutable (its name is its content's
hash), with its Content-Type and ``nosniff``. S3: a redirect to ``HUB_MEDIA_PUBLIC_URL/<key>``
when set, else to a presigned GET URL.
"""

from flask import abort, redirect, send_file

from hub.media import bp
from hub.media.storage import IMMUTABLE, LocalStorage, content_type, is_variant_key, storage


@bp.get("/media/<path:key>")
def file(key):
    if not is_variant_key(key):
        abort(404)
    files = storage()
    if isinstance(files, LocalStorage):
        path = files.path(key)
        try:
            answer = send_file(path, mimetype=content_type(key), conditional=True, etag=True)
        except FileNotFoundError:
            abort(404)
        answer.headers["Cache-Control"] = IMMUTABLE
        answer.headers["X-Content-Type-Options"] = "nosniff"
        return answer
    if not files.exists(key):
        abort(404)
    answer = redirect(files.url(key), code=302)
    answer.headers["Cache-Control"] = "public, max-age=600" if files.public_url else "no-store"
    return answer
