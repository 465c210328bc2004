"""``hub reindex``: fold every text again and rebuild the search index from them."""

import click
from flask_babel import gettext as _

from hub.cli import hub_cli
from hub.extensions import db
from hub.search import index


@hub_cli.command("reindex")
def reindex_command():
    """Fold every entry's title and texts again and rebuild the search index from them, in one
    transaction (searches go on meanwhile, on the old index): after restoring a database by
    other means than the hub's own commands, or to repair the index."""
    db.begin_write()
    count = index.rebuild()
    db.session.commit()
    click.echo(_("Search index rebuilt from %(count)s texts.", count=count))
