"""The changes feed's epoch: a random name for the feed's history as this database holds it.

A cursor of the feed (``since``) means something only in the history it was read from. A hub
restored from a backup starts a new history (``hub restore`` gives it a new epoch): its numbers
may repeat ones its followers have read already, for other changes. So every page of the feed
says its epoch, a follower sends back the one it saw, and a cursor of another epoch is answered
410 with the new baseline (``hub.api.changes``): the follower starts again from 0.

A hub never restored gets its epoch the first time one is asked for. The epoch is part of the
data version (``hub.cache.version_part``): the answers cached under an old epoch are not served
after a restore, and reading it costs a query only when the data version changes.
"""

import re
import secrets

from sqlalchemy import delete, insert, select

from hub import cache
from hub.extensions import db
from hub.ops.models import HubState

NAME = "feed_epoch"
# What a client may send as ``epoch``: the hub's own are 16 hexadecimal digits.
EPOCH_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


@cache.version_part
def _version():
    return [select(HubState.value).where(HubState.name == NAME).scalar_subquery()]


def new_epoch():
    return secrets.token_hex(8)


def feed_epoch():
    """The feed's epoch, made (and committed) the first time it is asked for."""
    value = db.session.scalar(select(HubState.value).where(HubState.name == NAME))
    if value:
        return value
    db.begin_write()
    table = HubState.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    # Two processes asking at once: the first one's stands, and both answer with it.
    db.session.execute(upsert(table).values(name=NAME, value=new_epoch()).on_conflict_do_nothing())
    db.session.commit()
    return db.session.scalar(select(HubState.value).where(HubState.name == NAME))


def renew(connection, value=None):
    """Give the database on ``connection`` a new epoch (in its transaction): a restore does,
    so that its followers start again. Returns it."""
    value = value or new_epoch()
    table = HubState.__table__
    connection.execute(delete(table).where(table.c.name == NAME))
    connection.execute(insert(table).values(name=NAME, value=value))
    return value
