"""The readable API reference page, in the reader's language, from the OpenAPI document."""

from flask import Blueprint, render_template

from hub.api.openapi import RECORD_NAMES, build_spec

bp = Blueprint("api_docs", __name__, url_prefix="/<lang>")


@bp.route("/api")
def reference():
    spec = build_spec()
    operations = [
        (method.upper(), path, op.get("summary", ""), bool(op.get("security")))
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "patch", "delete")
    ]
    return render_template("api/reference.html", operations=operations, kinds=list(RECORD_NAMES))
