"""The ``flask --app wsgi hub …`` command group; feature packages add their commands to it."""

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from hub.db import upgrade
from hub.extensions import db

hub_cli = AppGroup("hub", help="Operate the OCOP exchange hub.")


@hub_cli.command("migrate")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to reach.")
def migrate_command(revision):
    """Create or upgrade the database schema through the Alembic migrations, then store the
    changes feed's item of every published entry that lacks one (``hub.publishing.records``)."""
    from hub.publishing import records

    upgrade(db.engine, revision)
    click.echo(_("Database schema at revision %(revision)s.", revision=revision))
    if revision == "head" and (stored := records.refresh(db.session)):
        click.echo(_("Prepared the changes feed for %(count)s published entries.", count=stored))
