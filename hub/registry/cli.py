"""Registry commands: ``seed`` and ``membership``."""

import click
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select

from hub.cli import hub_cli
from hub.extensions import db
from hub.registry import services
from hub.registry.models import STATUS_VALUES, Country
from hub.registry.regions import territory_name


@hub_cli.command("seed")
@click.option("--if-empty", is_flag=True, help="Seed only when the registry has no country yet.")
@click.option("--no-demo", is_flag=True, help="Leave out the sample policies, fairs and products.")
def seed_command(if_empty, no_demo):
    """Load the network's countries and programmes from the seed file, and the sample entries
    (safe to run again: nothing is added twice, and membership changes are kept)."""
    from hub.publishing.demo import seed_demo

    if if_empty and db.session.scalar(select(Country.code).limit(1)) is not None:
        click.echo(_("The registry already has countries; not seeding (--if-empty)."))
        return
    counts = services.seed_registry()
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
    from hub.publishing.demo import remove_demo

    click.echo(_("Sample entries deleted: %(count)s.", count=remove_demo()))


@hub_cli.command("membership")
@click.argument("code")
@click.option("--status", required=True, help="One of: " + ", ".join(STATUS_VALUES) + ".")
@click.option(
    "--on", "on", required=True, metavar="YYYY-MM-DD", help="The date the change took effect."
)
@click.option("--note", default="", help="Why, or where it was decided.")
def membership_command(code, status, on, note):
    """Record a change of country CODE's membership status, dated ON."""
    try:
        event = services.change_membership(code, status, on, note)
    except services.RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        _(
            "%(country)s: %(status)s since %(date)s.",
            country=territory_name(event.country_code),
            status=services.status_label(event.status),
            date=format_date(event.effective_on, "long"),
        )
    )
