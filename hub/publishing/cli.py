"""``hub trash purge``: purge the trash now, as the scheduler does every hour."""

import click
from flask_babel import ngettext

from hub.cli import HubGroup, hub_cli
from hub.publishing import trash

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
    count = trash.purge(max_batches=max_batches)
    click.echo(
        ngettext(
            "%(num)s entry purged from the trash.", "%(num)s entries purged from the trash.", count
        )
    )
