"""The limit of the HTTP figures: a bare Flask endpoint that answers a fixed small JSON body,
served by gunicorn with the same settings as the hub (``gunicorn bench.bare_app:app``).

For information beside the media figure, ``/media/<key>`` sends a file of the folder named by
``BENCH_MEDIA_DIR`` as the hub's ``/media/<key>`` does (``send_file``, conditional, ETag), with
nothing else around it.
"""

import os

from flask import Flask, abort, jsonify, send_file
from werkzeug.security import safe_join

app = Flask(__name__)

BODY = {"items": [{"id": 1, "title": "bare"}], "next_cursor": None}


@app.get("/")
def index():
    return jsonify(BODY)


@app.get("/media/<path:key>")
def media(key):
    folder = os.environ.get("BENCH_MEDIA_DIR")
    path = safe_join(folder, key) if folder else None
    if path is None or not os.path.isfile(path):
        abort(404)
    return send_file(path, conditional=True, etag=True)
