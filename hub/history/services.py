"""Recording revisions and reading them back: one at a time in the caller's transaction
(``record``), a batch in one statement (``record_many``), a subject's history newest first with
each change's old and new values (``revisions``; several subjects' together, ``revisions_of``),
each subject's newest revision in each language (``latest``) and a subject's state right after
one of its revisions (``state_at``)."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import String, and_, cast, false, func, insert, literal, or_, select
from sqlalchemy.orm import selectinload

from hub.db import utcnow
from hub.extensions import db
from hub.history.models import Revision

ACTOR_COLUMNS = ("user_id", "token_id", "source_id", "run_id")


def json_value(value):
    """``value`` as the history keeps it: plain JSON, dates and times as ISO 8601 text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return value


def actor_columns(actor):
    """The revision's columns saying who acted: ``actor`` is a user, an API token's holder
    (anything with a ``token``), a mapping of the columns themselves (a partner source and its
    run: ``{"source_id": …, "run_id": …}``), or None (the hub itself)."""
    if actor is None:
        return {}
    if isinstance(actor, dict):
        return {k: v for k, v in actor.items() if k in ACTOR_COLUMNS and v is not None}
    token = getattr(actor, "token", None)
    if token is not None:
        return {"token_id": token.id}
    user_id = getattr(actor, "id", None)
    return {"user_id": user_id} if user_id is not None else {}


def _row(subject, subject_id, action, actor, language, old, now):
    row = dict.fromkeys(ACTOR_COLUMNS)
    row.update(actor_columns(actor))
    row.update(
        subject=subject,
        subject_id=str(subject_id),
        created_dt=now or utcnow(),
        action=action,
        language=language,
        changes=json_value(old) if old else None,
    )
    return row


def record(subject, subject_id, action, actor=None, language=None, old=None, now=None):
    """Add a revision of ``subject`` ``subject_id`` to the session (the caller commits).
    ``old``: the values the change replaced, ``{field: old value}``."""
    revision = Revision(**_row(subject, subject_id, action, actor, language, old, now))
    db.session.add(revision)
    return revision


def row(subject, subject_id, action, actor=None, language=None, old=None, now=None):
    """One revision as a row for ``record_many``."""
    return _row(subject, subject_id, action, actor, language, old, now)


def record_many(rows, insert_rows=None):
    """Insert ``rows`` (``row`` results) in one executemany statement, in the session's
    transaction; ``insert_rows(table, rows)``, when given, writes them instead (the sync's
    driver-level executemany, COPY on PostgreSQL)."""
    if not rows:
        return
    if insert_rows is not None:
        insert_rows(Revision.__table__, rows)
    else:
        db.session.connection().execute(insert(Revision.__table__), rows)


def record_each(subject, ids, action, actor=None, now=None):
    """One revision ``action`` of each subject whose id ``ids`` selects (a one-column select,
    such as a batch's new entries), made by the database in one ``INSERT … SELECT``: no row
    is built in Python, so the creations of a sync of 100 000 records cost it little. For
    changes with no old values to keep."""
    table = Revision.__table__
    given = {
        **actor_columns(actor),
        "subject": subject,
        "created_dt": now or utcnow(),
        "action": action,
    }
    chosen = ids.subquery()
    rows = select(
        cast(chosen.c[0], String).label("subject_id"),
        *(literal(value, table.c[name].type).label(name) for name, value in given.items()),
    )
    db.session.execute(insert(table).from_select(["subject_id", *given], rows))


@dataclass
class Change:
    field: str
    old: object
    new: object


@dataclass
class Page:
    items: list  # (Revision, [Change, …]), newest first
    next_cursor: int | None


def _of(subjects):
    """The condition "a revision of one of ``subjects``" (``(subject, subject_id)`` pairs)."""
    ids = {}
    for subject, subject_id in subjects:
        ids.setdefault(subject, set()).add(str(subject_id))
    if not ids:
        return false()
    return or_(
        *(
            and_(Revision.subject == subject, Revision.subject_id.in_(sorted(values)))
            for subject, values in sorted(ids.items())
        )
    )


def _newer_changes(subjects, after_id, inclusive=False):
    """The changes of the subjects' revisions after ``after_id`` (from it, ``inclusive``),
    oldest first, as ``(id, (subject, subject_id), changes)``."""
    found = db.session.execute(
        select(Revision.id, Revision.subject, Revision.subject_id, Revision.changes)
        .where(
            _of(subjects),
            Revision.id >= after_id if inclusive else Revision.id > after_id,
            Revision.changes.is_not(None),
        )
        .order_by(Revision.id)
    ).all()
    return [(id_, (subject, subject_id), changes) for id_, subject, subject_id, changes in found]


def _following(subjects, revisions_, current):
    """For each of ``revisions_``, the values that followed it: ``{field: value}`` as the
    next revision of its subject touching each field remembers it, else as ``current`` (its
    subject's fields now) has it."""
    if not revisions_:
        return {}
    newer = _newer_changes(subjects, min(r.id for r in revisions_), inclusive=True)
    states = {}
    result = {}
    wanted = {r.id for r in revisions_}
    for revision_id, key, changes in reversed(newer):
        state = states.setdefault(key, dict(current.get(key, {})))
        if revision_id in wanted:
            result[revision_id] = dict(state)
        state.update(changes)
    for revision in revisions_:
        if revision.id not in result:
            key = (revision.subject, revision.subject_id)
            result[revision.id] = dict(states.get(key, current.get(key, {})))
    return result


def revisions(subject, subject_id, cursor=None, limit=20, current=None):
    """A page of the subject's revisions, newest first, after the revision ``cursor`` (an id);
    each with its changes, field by field, old and new. ``current``: the subject's fields now,
    as JSON (``json_value``), where the newest change of each field ends."""
    key = (subject, str(subject_id))
    return revisions_of([key], cursor, limit, {key: current or {}})


def revisions_of(subjects, cursor=None, limit=20, current=None):
    """``revisions`` of several subjects in one history (a country's facts): ``subjects`` are
    ``(subject, subject_id)`` pairs, ``current`` maps each to its fields now."""
    subjects = [(subject, str(subject_id)) for subject, subject_id in subjects]
    current = {
        (subject, str(subject_id)): json_value(fields or {})
        for (subject, subject_id), fields in (current or {}).items()
    }
    stmt = select(Revision).where(_of(subjects))
    if cursor is not None:
        stmt = stmt.where(Revision.id < cursor)
    stmt = stmt.options(
        selectinload(Revision.user), selectinload(Revision.token), selectinload(Revision.source)
    )
    found = db.session.scalars(stmt.order_by(Revision.id.desc()).limit(limit + 1)).all()
    page, more = found[:limit], len(found) > limit
    following = _following(subjects, [r for r in page if r.changes], current)
    items = []
    for revision in page:
        after = following.get(revision.id, {})
        changes = [
            Change(field, old, after.get(field))
            for field, old in sorted((revision.changes or {}).items())
        ]
        items.append((revision, changes))
    return Page(items, page[-1].id if more else None)


def latest(subjects):
    """The id of the newest revision of each subject in each language (None: its changes in no
    language): ``{(subject, subject_id, language): id}``."""
    return {
        (subject, subject_id, language): newest
        for subject, subject_id, language, newest in db.session.execute(
            select(Revision.subject, Revision.subject_id, Revision.language, func.max(Revision.id))
            .where(_of(subjects))
            .group_by(Revision.subject, Revision.subject_id, Revision.language)
        )
    }


def state_at(subject, subject_id, revision_id, current):
    """The subject's fields right after revision ``revision_id``: ``current`` (its fields now,
    as JSON) with every later change undone. None if the subject has no such revision."""
    exists = db.session.scalar(
        select(Revision.id).where(
            Revision.id == revision_id,
            Revision.subject == subject,
            Revision.subject_id == str(subject_id),
        )
    )
    if exists is None:
        return None
    state = json_value(dict(current))
    for _id, _key, changes in reversed(_newer_changes([(subject, subject_id)], revision_id)):
        state.update(changes)
    return state
