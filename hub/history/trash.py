"""The trash: what a package deletes stays restorable for ``HUB_TRASH_DAYS`` days (30 unless
set), then is purged for good, in bounded batches, by the scheduler's job ``purge-trash`` (every
hour) and ``hub trash purge``.

The window and the purge's schedule are the same for everything deleted; what deleting,
restoring and purging mean is the owning package's. A package registers its purge with
``purger`` (publishing registers the entries': ``hub.publishing.trash``); ``purge`` runs them
all. Like the rest of ``hub.history``, this module imports neither publishing nor the registry.
"""

from datetime import timedelta

from flask import current_app

from hub.db import utcnow

_purgers = []


def days():
    """How many days a deletion stays restorable (``HUB_TRASH_DAYS``)."""
    return current_app.config["TRASH_DAYS"]


def purge_dt(deleted_dt):
    """When what was deleted at ``deleted_dt`` leaves the trash for good."""
    return deleted_dt + timedelta(days=days())


def cutoff(now=None):
    """What was deleted at this moment or before is due to be purged at ``now``."""
    return (now or utcnow()) - timedelta(days=days())


def restorable(deleted_dt, now=None):
    """Whether a deletion at ``deleted_dt`` is still in the trash at ``now``."""
    return deleted_dt is not None and deleted_dt > cutoff(now)


def purger(function):
    """Register ``function(now=None, max_batches=None) -> int`` (how many it purged) as a
    package's purge of what it deleted before ``cutoff(now)``, in bounded batches."""
    _purgers.append(function)
    return function


def purge(now=None, max_batches=None):
    """Run every registered purge; how many things were purged in all."""
    return sum(function(now=now, max_batches=max_batches) for function in _purgers)
