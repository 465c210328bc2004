"""Sync commands: ``add-source``, ``sync`` and ``scheduler``."""

import contextlib

import click
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import select

from hub.cli import hub_cli
from hub.extensions import db
from hub.sync import services
from hub.sync.models import PartnerSource, SyncRun
from hub.sync.scheduler import lease_holder, owner_name, run_if_free

COUNT_LABELS = {
    "fetched": _l("Fetched"),
    "created": _l("Created"),
    "updated": _l("Updated"),
    "unchanged": _l("Unchanged"),
    "deleted": _l("Deleted"),
    "rejected": _l("Rejected"),
    "held": _l("Held"),
}


@hub_cli.command("add-source")
@click.option("--country", required=True, metavar="XX")
@click.option("--kind", required=True, help="csv, jsonfeed, ical or ckan.")
@click.option("--url", required=True)
@click.option("--every", default=60, show_default=True, metavar="MINUTES", type=int)
@click.option("--settings", default="{}", help="The connector's settings, as JSON.")
def add_source_command(country, kind, url, every, settings):
    """Add a partner source that is synced every MINUTES."""
    try:
        source = services.add_source(country, kind, url, settings, every)
    except services.SourceError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(
        _("Source %(id)s added: %(kind)s, %(url)s.", id=source.id, kind=source.kind, url=source.url)
    )


@hub_cli.command("sync")
@click.argument("source_id", required=False, type=int)
@click.option("--all", "all_sources", is_flag=True, help="Every enabled source, due or not.")
def sync_command(source_id, all_sources):
    """Sync one source now (SOURCE_ID), or every enabled one (--all)."""
    if (source_id is None) == (not all_sources):
        raise click.UsageError(_("Give a source number or --all, not both."))
    if all_sources:
        ids = db.session.scalars(
            select(PartnerSource.id)
            .where(PartnerSource.enabled.is_(True), PartnerSource.kind != "push")
            .order_by(PartnerSource.id)
        ).all()
    else:
        source = db.session.get(PartnerSource, source_id)
        if source is None:
            raise click.ClickException(_("There is no partner source number %(id)s.", id=source_id))
        if source.kind == "push":
            raise click.ClickException(
                _("Source %(id)s receives pushes; there is nothing to fetch.", id=source_id)
            )
        ids = [source_id]
    runs, busy = [], []
    owner = owner_name("cli")
    with click.progressbar(ids, label=_("Syncing"), show_pos=True) as bar:
        for sid in bar:
            run = run_if_free(sid, owner, paused_too=not all_sources)
            (runs.append(run) if run is not None else busy.append((sid, lease_holder(sid))))
    _summary(runs)
    for sid, holder in busy:
        click.echo(services.busy_message(sid, holder), err=True)
    # A source asked for by number and not synced is a failure; with --all, one being synced
    # already is simply skipped.
    if any(run.status == "failed" for run in runs) or (busy and not all_sources):
        raise SystemExit(1)


def _summary(runs):
    headers = [
        pgettext("partner source", "Source"),
        _("Status"),
        *[str(COUNT_LABELS[name]) for name in SyncRun.COUNTS],
    ]
    rows = [
        [
            str(run.source_id),
            services.status_label(run.status),
            *[str(getattr(run, name)) for name in SyncRun.COUNTS],
        ]
        for run in runs
    ]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    for run in runs:
        said = services.run_detail(run) or run.error
        if said:
            click.echo(_("Source %(id)s: %(error)s", id=run.source_id, error=said), err=True)


@hub_cli.command("scheduler")
def scheduler_command():
    """Run the sync scheduler in the foreground (one per deployment; a second one is harmless)."""
    from hub.ops import logs, metrics
    from hub.sync.scheduler import run_scheduler

    # One line a job run, and the jobs' own, on stderr (HUB_LOG_FORMAT).
    logs.configure(current_app.config["LOG_FORMAT"])
    click.echo(_("Scheduler started; Ctrl-C stops it."))
    try:
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            run_scheduler()
    finally:
        metrics.process_ended()


@hub_cli.command("issue-token")
@click.option("--country", required=True, metavar="XX", help="The country the token may write for.")
@click.option("--name", required=True, help="Who or what holds it (a partner system, a person).")
@click.option("--days", default=365, show_default=True, type=click.IntRange(1, 3650))
def issue_token_command(country, name, days):
    """Issue an API token for pushing a country's records; it is printed once."""
    from hub.api.auth import issue_token
    from hub.registry.models import Country

    code = country.strip().upper()
    if db.session.get(Country, code) is None:
        raise click.ClickException(
            _("There is no country with the code “%(code)s” in the registry.", code=code)
        )
    token, secret = issue_token(name.strip()[:200], code, days)
    click.echo(_("Token %(id)s for %(name)s; it is shown only now:", id=token.id, name=token.name))
    click.echo(secret)
