"""``hub backup --to DIR`` and ``hub restore --from DIR`` (docs/operations.md)."""

import click
from flask_babel import gettext as _
from flask_babel import ngettext

from hub.cli import CommandError, hub_cli


@hub_cli.command("backup", needs_schema=False)  # an older schema too: before "hub migrate"
@click.option("--to", "folder", required=True, help="A new (or empty) folder for the backup.")
def backup_command(folder):
    """Write a consistent backup of the database and the media into a new folder while the
    hub serves: SQLite's online backup, or on PostgreSQL a portable export of every table
    (and pg_dump's, when it is installed), the media files, and a manifest of checksums."""
    from hub.ops import backup

    try:
        report = backup.make_backup(folder)
    except backup.BackupRefused as exc:
        raise CommandError(backup_refusal(exc.reason, exc.params)) from None
    for code, facts in report.warnings:
        if code == "pg_dump_missing":
            click.echo(_("pg_dump is not installed: the backup holds the portable export only."))
        else:
            click.echo(
                _(
                    "pg_dump failed (%(reason)s): the backup holds the portable export only.",
                    **facts,
                )
            )
    tables = report.manifest["tables"]
    files = sum(1 for name in report.manifest["files"] if name.startswith(backup.MEDIA + "/"))
    click.echo(
        _(
            "Backup written to %(path)s: %(rows)s rows of %(tables)s tables and %(files)s "
            "media files, schema revision %(revision)s.",
            path=report.path,
            rows=sum(table["rows"] for table in tables.values()),
            tables=len(tables),
            files=files,
            revision=report.manifest["revision"],
        )
    )


@hub_cli.command("restore", needs_schema=False)
@click.option("--from", "folder", required=True, help="The folder “hub backup” wrote.")
def restore_command(folder):
    """Restore a backup into this hub's database and media storage, which must be empty (a new
    database, of either kind). Checks every checksum and the schema first; the changes feed
    starts a new epoch, so that its followers read it again."""
    from hub.ops import restore

    try:
        report = restore.restore(folder)
    except restore.RestoreRefused as exc:
        raise CommandError(refusal(exc.reason, exc.params)) from None
    click.echo(
        ngettext(
            "Restored %(num)s row and %(files)s media files (schema revision %(revision)s).",
            "Restored %(num)s rows and %(files)s media files (schema revision %(revision)s).",
            report.rows,
            files=report.files,
            revision=report.revision,
        )
    )
    click.echo(
        _(
            "The changes feed starts a new epoch (%(epoch)s): hubs and partners that follow it "
            "are told to read it again from the start.",
            epoch=report.epoch,
        )
    )


def backup_refusal(reason, params):
    """Why a backup was not made, in the operator's language."""
    if reason == "folder_not_empty":
        return _("%(path)s exists and is not empty: give a new folder for the backup.", **params)
    if reason == "no_schema":
        return _("The database has no schema yet: run “hub migrate” first.")
    # "unknown_schema"
    return _(
        "The database's schema is at revision %(revision)s, which this hub (%(head)s) does "
        "not know: back it up with the newer hub that migrated it.",
        **params,
    )


def refusal(reason, params):
    """Why a restore was refused, in the operator's language."""
    nothing = _("Nothing was restored.")
    if reason == "no_manifest":
        said = _("There is no %(path)s: give the folder that “hub backup” wrote.", **params)
    elif reason == "bad_manifest":
        said = _("%(path)s is not part of a backup this hub can read.", **params)
    elif reason == "checksum":
        said = _(
            "The backup is damaged: %(file)s is missing or does not match its checksum in the "
            "manifest.",
            **params,
        )
    elif reason == "newer_schema":
        said = _(
            "The backup's schema (revision %(revision)s) is newer than this hub's (%(head)s): "
            "restore it with a hub at least as new as the one that made it.",
            **params,
        )
    elif reason == "newer_target":
        said = _(
            "The database's schema is at revision %(revision)s, which this hub (%(head)s) does "
            "not know: a newer hub migrated it. Restore into a new, empty database, or with "
            "that newer hub.",
            **params,
        )
    elif reason == "not_empty":
        said = _(
            "The database is not empty (%(rows)s rows in %(table)s): restore into a new, empty "
            "database (point HUB_DATABASE_URL at one, or move instance/hub.sqlite3 away) and "
            "run the command again.",
            **params,
        )
    else:  # "count"
        said = _(
            "The backup's table %(table)s gave %(rows)s rows where its manifest counts "
            "%(expected)s.",
            **params,
        )
    return f"{said} {nothing}"
