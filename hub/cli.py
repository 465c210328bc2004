"""The command line: ``hub …`` (the console script) and ``flask --app wsgi hub …``, one group of
commands that feature packages add to.

Both read the configuration the server reads (``hub.config``: the ``HUB_*`` variables, else the
instance folder's ``secret_key``, ``base_url`` and ``hub.sqlite3``). A mistake — a missing or
unknown option, a bad value, a refused change, a database that is not migrated, locked or out of
reach, a setting that stops the app — is answered with one line in the operator's language and a
non-zero exit, never a traceback.
"""

import os

import click
from babel.lists import format_list
from babel.support import Translations
from flask import current_app, g
from flask.cli import AppGroup, ScriptInfo
from flask_babel import gettext
from sqlalchemy.exc import OperationalError, ProgrammingError

from hub.db import upgrade
from hub.extensions import db

TRANSLATIONS_DIR = os.path.join(os.path.dirname(__file__), os.pardir, "translations")
USAGE_EXIT = 2  # click's code for a command given wrongly


def operator_language():
    """The operator's language from ``LC_ALL``, ``LC_MESSAGES`` or ``LANG`` when the hub speaks
    it ("vi_VN.UTF-8" → "vi"), else English; known before any app exists."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        code = os.environ.get(var, "").split("_")[0].split(".")[0]
        if code in ("vi", "en", "ja"):
            return code
    return "en"


def _(message, **params):
    """gettext for the command line: through Flask-Babel inside an app context (which follows
    the same environment variables), else straight from the catalogues."""
    if current_app:
        return gettext(message, **params)
    translations = Translations.load(TRANSLATIONS_DIR, [operator_language()])
    return translations.gettext(message) % params if params else translations.gettext(message)


class CommandError(click.ClickException):
    """A refusal, shown as the one line it is (no "Error:" prefix in English)."""

    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None):
        click.echo(self.format_message(), file=file, err=file is None)


def config_error_line(exc):
    """A ``hub.config.ConfigError`` as one line in the operator's language."""
    reason = _(exc.template, **exc.params)
    return _("The hub cannot start: %(reason)s", reason=reason)


def _usage_message(exc, command):
    """A click usage error in the operator's language, with where to look for the options."""
    param = getattr(exc, "param", None)
    name = None
    if param is not None:
        name = param.opts[0] if param.param_type_name == "option" else param.human_readable_name
    help_hint = f"hub {command} --help" if command else "hub --help"
    if isinstance(exc, click.MissingParameter) and name:
        return _(
            "%(option)s is missing: “%(help)s” lists what the command needs.",
            option=name,
            help=help_hint,
        )
    if isinstance(exc, click.NoSuchOption):
        return _(
            "There is no option %(option)s: “%(help)s” lists the options.",
            option=exc.option_name,
            help=help_hint,
        )
    if isinstance(exc, click.BadParameter) and name:
        kind = param.type
        if isinstance(kind, click.Choice):
            return _(
                "%(option)s must be %(choices)s.",
                option=name,
                choices=format_list(
                    [str(c) for c in kind.choices], style="or", locale=operator_language()
                ),
            )
        if isinstance(kind, click.types.IntParamType):
            return _("%(option)s must be a whole number.", option=name)
        return _(
            "The value of %(option)s is not valid: “%(help)s” says what it takes.",
            option=name,
            help=help_hint,
        )
    return _("The command was not given as it expects: “%(help)s” shows how.", help=help_hint)


def _database_message(exc):
    """One line for a database that cannot be used, or None for another failure."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "locked" in text or "busy" in text:
        return _(
            "The database is busy with another process (a sync, a migration); try again "
            "in a moment."
        )
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return _("The database has no schema yet, or an older one: run “hub migrate” first.")
    if isinstance(exc, OperationalError):
        return _(
            "The database cannot be reached: %(reason)s",
            reason=str(getattr(exc, "orig", exc)).strip().splitlines()[0],
        )
    return None


def check_schema(engine=None):
    """Refuse to go on when the database's schema is not the one this hub's code expects
    (``engine``: the current app's database unless given)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from hub.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with (engine or db.engine).connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current is None:
        raise CommandError(_("The database has no schema yet: run “hub migrate” first."))
    if current != head:
        raise CommandError(
            _(
                "The database's schema is at revision %(current)s, this hub needs %(head)s: run "
                "“hub migrate” first.",
                current=current,
                head=head,
            )
        )


class HubCommand(click.Command):
    """A command whose mistakes and refusals come out as one translated line."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise CommandError(_usage_message(exc, info_name), USAGE_EXIT) from None

    def invoke(self, ctx):
        from hub.config import ConfigError

        try:
            return super().invoke(ctx)
        except CommandError:
            raise
        except click.UsageError as exc:
            raise CommandError(exc.format_message(), USAGE_EXIT) from None
        except ConfigError as exc:
            raise CommandError(config_error_line(exc)) from None
        except click.ClickException as exc:
            raise CommandError(exc.format_message(), exc.exit_code) from None
        except (OperationalError, ProgrammingError) as exc:
            if (message := _database_message(exc)) is None:
                raise
            raise CommandError(message) from None


class HubGroup(AppGroup):
    """The ``hub`` group: its commands are ``HubCommand``s run in an app context, which record
    their changes in the audit log as made on the command line."""

    command_class = HubCommand

    def command(self, *args, needs_schema=True, **kwargs):
        wrap_for_ctx = kwargs.pop("with_appcontext", True)

        def decorator(f):
            if wrap_for_ctx:
                f = _in_app(f, needs_schema)
            return click.Group.command(self, *args, **kwargs)(f)

        return decorator

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:
            raise CommandError(
                _("There is no command “%(name)s”: “hub --help” lists them.", name=args[0]),
                USAGE_EXIT,
            ) from None


def _in_app(f, needs_schema):
    import functools

    @functools.wraps(f)
    @click.pass_context
    def command(ctx, /, *args, **kwargs):
        if not current_app:
            app = ctx.ensure_object(ScriptInfo).load_app()
            ctx.with_resource(app.app_context())
        g.audit_channel = "cli"  # hub.accounts.services.record: "command line" is the actor
        if needs_schema:
            check_schema()
        return ctx.invoke(f, *args, **kwargs)

    return command


hub_cli = HubGroup("hub", help="Operate the OCOP exchange hub.")


@hub_cli.command("migrate", needs_schema=False)
@click.option("--revision", default="head", show_default=True, help="Alembic revision to reach.")
def migrate_command(revision):
    """Create or upgrade the database schema through the Alembic migrations, then store the
    changes feed's item of every published entry that lacks one (``hub.publishing.records``)."""
    from alembic.runtime.migration import MigrationContext

    from hub.publishing import records

    upgrade(db.engine, revision)
    with db.engine.connect() as connection:
        reached = MigrationContext.configure(connection).get_current_revision()
    click.echo(_("Database schema at revision %(revision)s.", revision=reached))
    if revision == "head" and (stored := records.refresh(db.session)):
        click.echo(_("Prepared the changes feed for %(count)s published entries.", count=stored))


def main():
    """The ``hub`` console script (pyproject.toml): ``hub create-user …`` is
    ``flask --app wsgi hub create-user …``, with the same configuration as the server."""
    from hub import (  # noqa: F401
        accounts,
        create_app,
        media,
        ops,
        publishing,
        registry,
        search,
        sync,
        webhooks,
    )
    from hub.ops import config_cli  # noqa: F401  (hub config check: no app needed)

    hub_cli.main(prog_name="hub", obj=ScriptInfo(create_app=create_app, set_debug_flag=False))
