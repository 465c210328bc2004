"""Readiness (``/readyz``) and the scheduler's heartbeat.

``/healthz`` (hub.site) says the process answers; ``/readyz`` says whether it can do its work:
the database answers, its schema is the one this code was written for (Alembic's revision is the
scripts' head), and a scheduler said it was running less than ``HUB_READY_SCHEDULER_SECONDS``
ago ("off" for a deployment that runs none). The scheduler says so with a heartbeat: the
``scheduler_heartbeat`` row of ``hub_state``, written every ``HEARTBEAT_SECONDS`` by a job of its
own, in an executor of its own, so that long sync runs filling the others never delay it.
"""

import logging

from alembic.runtime.migration import MigrationContext
from flask import current_app
from sqlalchemy import select, text, update
from sqlalchemy.exc import SQLAlchemyError

from hub.db import migration_revisions, utcnow
from hub.extensions import db
from hub.ops.models import HubState

HEARTBEAT = "scheduler_heartbeat"
HEARTBEAT_SECONDS = 30

log = logging.getLogger(__name__)


def beat(owner):
    """Write the scheduler's heartbeat (``owner``: which scheduler). Never raises: a heartbeat
    that cannot be written now shows as an older one, which is what it is."""
    try:
        db.begin_write()
        now = utcnow()
        written = db.session.execute(
            update(HubState)
            .where(HubState.name == HEARTBEAT)
            .values(value=owner[:200], updated_dt=now)
        ).rowcount
        if not written:
            db.session.add(HubState(name=HEARTBEAT, value=owner[:200], updated_dt=now))
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("the scheduler's heartbeat could not be written", exc_info=True)


def heartbeat_age(now):
    """Seconds since the last heartbeat, or None if no scheduler ever wrote one."""
    beaten = db.session.scalar(select(HubState.updated_dt).where(HubState.name == HEARTBEAT))
    return None if beaten is None else max(0.0, (now - beaten).total_seconds())


def readiness():
    """``(ready, checks)``: each check ``{"status": "ok" | why not, …}``; those after a database
    that cannot be reached are "skipped"."""
    checks = {"database": {"status": "ok"}}
    try:
        connection = db.session.connection()
        connection.execute(text("SELECT 1"))
        checks["migrations"] = _migrations(connection)
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("readiness: the database cannot be reached: %s", exc)
        checks["database"] = {"status": "unreachable", "error": type(exc).__name__}
        checks["migrations"] = {"status": "skipped"}
        checks["scheduler"] = {"status": "skipped"}
        return False, checks
    checks["scheduler"] = _scheduler(checks["migrations"]["status"] == "ok")
    db.session.rollback()  # a probe keeps no transaction open
    ready = all(check["status"] in ("ok", "off") for check in checks.values())
    return ready, checks


def _migrations(connection):
    head, known = migration_revisions()
    current = MigrationContext.configure(connection).get_current_heads()
    check = {"revision": current[0] if len(current) == 1 else list(current) or None, "head": head}
    if current == (head,):
        status = "ok"
    elif not current:
        status = "not_migrated"
    elif all(revision in known for revision in current):
        status = "behind"
    else:
        status = "unknown_revision"  # newer than this code: it is the code that is behind
    return {"status": status, **check}


def _scheduler(schema_ok):
    limit = current_app.config["READY_SCHEDULER_SECONDS"]
    if limit is None:
        return {"status": "off"}
    if not schema_ok:
        return {"status": "skipped"}
    try:
        age = heartbeat_age(utcnow())
    except SQLAlchemyError as exc:
        db.session.rollback()
        return {"status": "unreadable", "error": type(exc).__name__}
    if age is None:
        return {"status": "missing", "max_age_seconds": limit}
    check = {"age_seconds": round(age, 1), "max_age_seconds": limit}
    return {"status": "ok" if age <= limit else "stale", **check}
