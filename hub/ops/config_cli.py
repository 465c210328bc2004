"""``hub config check``: the effective configuration, secrets hidden, and its problems
(``hub.ops.config_check``; docs/configuration.md, "Checking the configuration")."""

import json

import click

from hub.cli import HubGroup, _, hub_cli
from hub.ops.config_check import DEFAULT, ENVIRONMENT, ERROR, INSTANCE_FILE, WARNING, check

config_cli = HubGroup("config", help="The hub's configuration.")
hub_cli.add_command(config_cli)


# Without an app: the check builds the settings itself, so that a setting that would stop the
# app is one problem among the others rather than the only thing said.
@config_cli.command("check", with_appcontext=False)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON, for tools.")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="The web server's worker processes, when it is not started with "
    "deploy/gunicorn.conf.py's number.",
)
@click.option("--no-database", is_flag=True, help="Do not try to reach the database.")
def check_command(as_json, strict, workers, no_database):
    """Print every setting the server would run with, its value (secrets hidden) and where it
    comes from (environment, instance folder, default), then the problems found: settings the
    server would refuse and unsafe combinations. Exits with 1 when there is an error (with
    --strict, any problem)."""
    report = check(workers=workers, database=not no_database)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print(report)
    if report.failed(strict):
        raise click.exceptions.Exit(1)


def _print(report):
    click.echo(_("Configuration of the hub in %(folder)s:", folder=report.instance_path))
    width = max(len(setting.name) for setting in report.settings)
    for setting in report.settings:
        source = _source(setting)
        click.echo(f"  {setting.name.ljust(width)}  {setting.value}  [{source}]")
    click.echo()
    if not report.problems:
        click.echo(_("No problems found."))
        return
    for problem in report.problems:
        if problem.level == ERROR:
            click.echo(click.style(_("Error: %(problem)s", problem=problem.message), fg="red"))
        else:
            line = _("Warning: %(problem)s", problem=problem.message)
            click.echo(click.style(line, fg="yellow"))
    click.echo(
        _(
            "Errors: %(errors)s, warnings: %(warnings)s.",
            errors=report.count(ERROR),
            warnings=report.count(WARNING),
        )
    )


def _source(setting):
    if setting.source == ENVIRONMENT:
        return _("environment, refused") if setting.refused else _("environment")
    if setting.source.startswith(INSTANCE_FILE + ":"):
        return _("instance folder: %(file)s", file=setting.source.partition(":")[2])
    if setting.source == DEFAULT:
        return _("default")
    return setting.source
