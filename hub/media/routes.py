"""``/media/<key>``: the variants, and nothing else (originals are never served).

Local storage: the file itself, cached for a year as immutable (its name is its content's
hash), with its Content-Type and ``nosniff``. S3: a redirect to ``HUB_MEDIA_PUBLIC_URL/<key>``
when set, else to a presigned GET URL.

A whole variant from local storage is sent by ``VariantFiles``, in front of Flask: no hook has
anything to do for an immutable file, and the server sends it with ``sendfile`` (gunicorn's
``wsgi.file_wrapper``). What it leaves to Flask (a range, a missing file, S3) comes here.
"""

import os

from flask import abort, redirect, send_file
from werkzeug.wsgi import wrap_file

from hub.media import bp
from hub.media.storage import IMMUTABLE, LocalStorage, content_type, is_variant_key, storage
from hub.ops import observe

ROUTE = "/media/<path:key>"  # also the label of the files VariantFiles sends (hub.ops)


@bp.get(ROUTE)
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


class VariantFiles:
    """WSGI middleware: ``GET`` and ``HEAD`` of ``/media/v/<sha256>.<ext>`` from local storage,
    answered before Flask, with the headers the route gives (and ``ETag``, the content's hash,
    answered 304 on ``If-None-Match``). Anything else goes on to Flask."""

    PREFIX = "/media/"

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        key = path[len(self.PREFIX) :]
        if (
            not path.startswith(self.PREFIX)
            or method not in ("GET", "HEAD")
            or "HTTP_RANGE" in environ
            or not is_variant_key(key)
        ):
            return self.wsgi_app(environ, start_response)
        files = storage(self.app)
        if not isinstance(files, LocalStorage):
            return self.wsgi_app(environ, start_response)
        try:
            stream = open(files.path(key), "rb")  # noqa: SIM115 (the server closes it)
        except OSError:
            return self.wsgi_app(environ, start_response)  # Flask's 404, in the reader's language
        observe.name_route(environ, ROUTE)  # counted as Flask's route would be
        etag = '"' + key[2:66] + '"'
        headers = [
            ("Content-Type", content_type(key)),
            ("Cache-Control", IMMUTABLE),
            ("ETag", etag),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Security-Policy", "default-src 'none'"),
        ]
        if (
            etag in environ.get("HTTP_IF_NONE_MATCH", "")
            or environ.get("HTTP_IF_NONE_MATCH") == "*"
        ):
            stream.close()
            start_response("304 Not Modified", headers)
            return []
        headers.append(("Content-Length", str(os.fstat(stream.fileno()).st_size)))
        start_response("200 OK", headers)
        if method == "HEAD":
            stream.close()
            return []
        if "wsgi.file_wrapper" in environ:  # gunicorn: sent with sendfile, closed by it
            return wrap_file(environ, stream)
        return _chunks(stream)  # closed when sent, or when the client went away


def _chunks(stream, size=64 * 1024):
    with stream:
        while chunk := stream.read(size):
            yield chunk


def init_app(app):
    app.wsgi_app = VariantFiles(app, app.wsgi_app)
