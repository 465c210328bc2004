"""Read-side queries of partner sync, for the health pages."""

from sqlalchemy import func, select

from hub.extensions import db
from hub.sync.models import SyncRun


def activity_by_source(since_dt):
    """``{source id: (runs, refused records)}`` of the runs started at or after ``since_dt``, in
    one aggregate query. Refused records are counted from the runs' own counts: the records
    themselves are kept only for a source's latest runs."""
    rows = db.session.execute(
        select(SyncRun.source_id, func.count(), func.coalesce(func.sum(SyncRun.rejected), 0))
        .where(SyncRun.started_dt >= since_dt)
        .group_by(SyncRun.source_id)
    ).all()
    return {source_id: (runs, int(refused)) for source_id, runs, refused in rows}
