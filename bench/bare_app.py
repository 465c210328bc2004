"""The limit of the HTTP figures: a bare Flask endpoint that answers a fixed small JSON body,
served by gunicorn with the same settings as the hub (``gunicorn bench.bare_app:app``)."""

from flask import Flask, jsonify

app = Flask(__name__)

BODY = {"items": [{"id": 1, "title": "bare"}], "next_cursor": None}


@app.get("/")
def index():
    return jsonify(BODY)
