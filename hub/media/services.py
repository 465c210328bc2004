"""The media's interface for the rest of the hub: what the API, the manage pages, the public
pages and the feeds call. Nothing else of ``hub.media`` needs to be imported by them (but
``MediaRefused``, re-exported here). The work is done in four modules, named here once:
``hub.media.edits`` (uploads, alternative texts, order and cover, removal, the change hooks),
``hub.media.items`` (reading: a medium as records carry it and as its owners see it),
``hub.media.pending`` (claiming and processing the pending media) and
``hub.media.housekeeping`` (removing orphans, checking the storage).

**Authorization stays with the callers.** These functions take an entry id and do what they
are told: the caller checks first that the user or token may edit that entry (its country),
as it does for the entry itself.

**Transactions.** Each function that writes commits its own transaction (as
``hub.publishing.services`` does), except ``detach``, which runs in the caller's (the trash's
purge). Files are written before the row is committed and deleted after the row is gone, so a
crash leaves at worst a file nobody refers to, which ``cleanup_orphans`` removes later.

**Order and cover.** An entry's media are ordered by ``position``, kept 0, 1, 2… by every
function here; the medium at position 0 is the cover (``set_cover`` moves one there).

**Processing.** ``add`` validates the bytes, stores the original privately and a ``pending``
row, and returns at once; the scheduler's ``process-media`` job (every
``hub.media.pending.PROCESS_SECONDS``) or ``hub media process`` makes the variants
(``process_pending``), and the row becomes ``ready``, or ``failed`` with a reason code
(``failure_message`` says it in the user's language).

**Changes.** Whenever what an entry shows changes (a medium ready, removed, reordered, its alt
texts), the functions registered with ``on_change(app, fn)`` are called with the entry ids,
inside the transaction, before it commits: the layer above bumps the entries' change sequence
there (the answer cache and the changes feed follow it) without ``hub.media`` importing it.
"""

from hub.media.edits import (
    MAX_ALT_CHARS,
    add,
    detach,
    follow_order,
    on_change,
    remove,
    reorder,
    set_cover,
    update,
)
from hub.media.housekeeping import check, cleanup_orphans
from hub.media.items import (
    alt_text,
    describe,
    failure_message,
    file_url,
    for_entries,
    for_records,
    get,
    record_item,
    with_alt,
)
from hub.media.pending import claim, process_pending
from hub.media.validate import MediaRefused

__all__ = [
    "MAX_ALT_CHARS",
    "MediaRefused",
    "add",
    "alt_text",
    "check",
    "claim",
    "cleanup_orphans",
    "describe",
    "detach",
    "failure_message",
    "file_url",
    "follow_order",
    "for_entries",
    "for_records",
    "get",
    "on_change",
    "process_pending",
    "record_item",
    "remove",
    "reorder",
    "set_cover",
    "update",
    "with_alt",
]
