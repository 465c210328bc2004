"""``/readyz`` and ``/metrics`` (docs/monitoring.md); ``/healthz`` is the site's (hub.site)."""

from flask import Blueprint, abort, current_app, jsonify

from hub.ops import health, metrics

bp = Blueprint("ops", __name__)


@bp.route("/readyz")
def ready():
    """Readiness for load balancers and orchestrators: 200 when the database answers, its
    schema is current and the scheduler's heartbeat is fresh; else 503, naming what fails."""
    is_ready, checks = health.readiness()
    failing = [name for name, check in checks.items() if check["status"] not in ("ok", "off")]
    body = {"status": "ready" if is_ready else "unready", "checks": checks}
    if failing:
        body["failing"] = failing
    return _not_stored(jsonify(body), 200 if is_ready else 503)


@bp.route("/metrics")
def prometheus():
    """The metrics in Prometheus' text format, for a bearer of ``HUB_METRICS_TOKEN`` or an
    address of ``HUB_METRICS_ALLOW``; a 404 for anyone else, as if there were none."""
    if not metrics.may_read():
        abort(404)
    body, content_type = metrics.exposition()
    return _not_stored(current_app.response_class(body, content_type=content_type), 200)


def _not_stored(response, status):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
