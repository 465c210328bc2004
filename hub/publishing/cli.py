"""Publishing commands: ``seed`` (the registry, then the sample entries), ``remove-demo``, and
``trash purge`` (purge the trash now, as the scheduler does every hour)."""

import click
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from hub.cli import HubGroup, hub_cli
from hub.extensions import db
from hub.history import trash as history_trash
from hub.publishing import trash
from hub.publishing.demo import remove_demo, seed_demo
from hub.registry.models import Country
from hub.registry.seeding import seed_registry


@hub_cli.command("seed")
@click.option("--if-empty", is_flag=True, help="Seed only when the registry has no country yet.")
@click.option("--no-demo", is_flag=True, help="Leave out the sample policies, fairs and products.")
def seed_command(if_empty, no_demo):
    """Load the network's countries and programmes from the seed file, and the sample entries
    (safe to run again: nothing is added twice, and membership changes are kept)."""
    if if_empty and db.session.scalar(select(Country.code).limit(1)) is not None:
        click.echo(_("The registry already has countries; not seeding (--if-empty)."))
        return
    counts = seed_registry()
    click.echo(
        _(
            "Seeded: %(countries_created)s countries created, %(countries_updated)s updated; "
            "%(programmes_created)s programmes created, %(programmes_updated)s updated.",
            **counts,
        )
    )
    if not no_demo:
        click.echo(_("Sample entries added: %(count)s.", count=seed_demo()))


@hub_cli.command("remove-demo")
def remove_demo_command():
    """Delete the sample entries the seed added."""
    click.echo(_("Sample entries deleted: %(count)s.", count=remove_demo()))


trash_cli = HubGroup("trash", help="The trash of deleted entries.")
hub_cli.add_command(trash_cli)


@trash_cli.command("purge")
@click.option(
    "--max-batches",
    default=trash.MAX_BATCHES,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help=f"Transactions of {trash.BATCH} entries at most.",
)
def purge_command(max_batches):
    """Purge the entries deleted HUB_TRASH_DAYS days ago or more: their texts and content go,
    a minimal tombstone stays for the changes feed."""
    count = history_trash.purge(max_batches=max_batches)
    click.echo(
        ngettext(
            "%(num)s entry purged from the trash.", "%(num)s entries purged from the trash.", count
        )
    )
