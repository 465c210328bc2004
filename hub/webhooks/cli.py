"""``hub deliver-webhooks``: one bounded run of the webhooks' dispatcher."""

from datetime import timedelta

import click
from flask_babel import gettext as _

from hub.cli import hub_cli
from hub.webhooks import delivery


@hub_cli.command("deliver-webhooks")
@click.option(
    "--max-changes",
    default=delivery.MAX_CHANGES,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Deliveries in this run, every webhook together.",
)
@click.option(
    "--seconds", default=int(delivery.RUN_DEADLINE.total_seconds()), show_default=True,
    type=click.IntRange(1, 3600), help="No delivery is started after this.",
)  # fmt: skip
def deliver_webhooks_command(max_changes, seconds):
    """Deliver the changes waiting for each due webhook (the scheduler does this every minute)."""
    totals = delivery.deliver(max_changes=max_changes, deadline=timedelta(seconds=seconds))
    click.echo(
        _(
            "%(delivered)s changes delivered, %(failed)s failed attempts, %(webhooks)s webhooks.",
            **totals,
        )
    )
