"""``hub media check``, ``hub media process`` and ``hub media cleanup``."""

import click
from flask_babel import gettext as _
from flask_babel import ngettext

from hub.cli import CommandError, HubGroup, hub_cli
from hub.media import services

media_cli = HubGroup("media", help="Photos and documents: processing and storage checks.")
hub_cli.add_command(media_cli)


@media_cli.command("process")
@click.option(
    "--limit",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Process at most this many pending media.",
)
def process_command(limit):
    """Make the variants of the pending media now (the scheduler does it every few seconds)."""
    count = services.process_pending(limit=limit)
    click.echo(ngettext("%(num)s file processed.", "%(num)s files processed.", count))


@media_cli.command("check")
def check_command():
    """Report the files the media refer to that the storage lacks, and the files stored that
    no medium refers to; exits with 1 when there are any."""
    report = services.check()
    for media_id, key in report.missing:
        click.echo(_("Missing: %(key)s (photo or document %(id)s)", key=key, id=media_id))
    for key in report.unreferenced:
        click.echo(_("Unreferenced: %(key)s", key=key))
    if not report.ok:
        raise CommandError(
            _(
                "%(missing)s missing and %(unreferenced)s unreferenced files.",
                missing=len(report.missing),
                unreferenced=len(report.unreferenced),
            )
        )
    click.echo(_("Every photo's and document's files are stored, and every stored file is used."))


@media_cli.command("cleanup")
def cleanup_command():
    """Remove orphan media and files now (the scheduler does it every hour)."""
    counts = services.cleanup_orphans()
    click.echo(
        _(
            "Removed %(media)s photos or documents of purged entries or failed uploads, and "
            "%(files)s unreferenced files.",
            media=counts["media"],
            files=counts["files"],
        )
    )
