"""Registry pages: the network at a glance, the list of countries, one country; for
administrators, the history of a country's facts with "restore this version"."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from hub.accounts.auth import admin_required
from hub.cache import cached
from hub.db import ID_RULE, parse_id
from hub.forms import HubForm
from hub.history import services as history
from hub.registry import (
    bp,
    country_page_parts,
    fact_texts,
    facts,
    figures,
    home_page_parts,
    queries,
    services,
)
from hub.registry import revisions as rv
from hub.registry.models import STATUS_VALUES
from hub.registry.regions import CONTINENTS, SUBREGION_CONTINENT, subregions_of
from hub.registry.seeding import network_facts


@bp.route("/")
@cached
def home():
    by_status, regions = queries.network_overview()
    parts = {}
    for part in home_page_parts:
        parts.update(part())
    return render_template(
        "registry/home.html",
        by_status=by_status,
        statuses=STATUS_VALUES,
        total=sum(by_status.values()),
        regions=regions,
        newest=queries.newest_members(),
        families=queries.programme_families(),
        network=network_facts(),
        map_view=figures.network_map(queries.membership_statuses()),
        members_chart=figures.members_chart(queries.members_over_time()),
        **parts,
    )


def country_filters():
    """The countries list's filters from the query string: ``(status, region, errors)``; a bad
    value is reported, not applied."""
    status = request.args.get("status", "").strip()
    region = request.args.get("region", "").strip()
    errors = {}
    if status and status not in STATUS_VALUES:
        errors["status"] = _("“%(value)s” is not a membership status.", value=status)
        status = ""
    if region and region not in CONTINENTS and region not in SUBREGION_CONTINENT:
        errors["region"] = _("“%(value)s” is not a region.", value=region)
        region = ""
    return status, region, errors


@bp.route("/countries")
@cached
def countries():
    status, region, errors = country_filters()
    return render_template(
        "registry/countries.html",
        countries=(found := queries.list_countries(status=status, region=region)),
        texts=facts.programme_texts(p for c in found for p in c.programmes),
        status=status,
        region=region,
        errors=errors,
        statuses=STATUS_VALUES,
        regions=[(continent, subregions_of(continent)) for continent in CONTINENTS],
        network=network_facts(),
    ), (400 if errors else 200)


@bp.route("/countries/<code>")
@cached
def country(code):
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        abort(404)
    if code != code.upper():
        return redirect(url_for(".country", code=code.upper()), 301)
    found = queries.get_country(code)
    if found is None:
        abort(404)
    parts = {}
    for part in country_page_parts:
        parts.update(part(found.code))
    return render_template(
        "registry/country.html", country=found, texts=facts.country_texts(found), **parts
    )


HISTORY_PAGE = 20


def _country_or_404(code):
    country = queries.get_country(code.upper()) if len(code) == 2 and code.isascii() else None
    if country is None:
        abort(404)
    return country


@bp.route("/manage/countries/<code>/history")
@admin_required
def country_history(code):
    """Every revision of the country's facts, newest first, each with what it changed."""
    country = _country_or_404(code)
    before = request.args.get("before")
    cursor = parse_id(before) if before else None
    if before and cursor is None:
        abort(400)
    found = facts.country_texts(country)
    subjects = facts.country_subjects(country)
    page = history.revisions_of(
        subjects, cursor, HISTORY_PAGE, current=rv.current_states(country, found)
    )
    return render_template(
        "registry/history.html",
        country=country,
        texts=found,
        page=page,
        latest=history.latest(subjects),
        rv=rv,
    )


@bp.route(f"/manage/countries/<code>/history/<{ID_RULE}:revision_id>/restore", methods=["POST"])
@admin_required
def restore_fact_text(code, revision_id):
    """Set a fact's text in one language back to what it was after one of its revisions."""
    if not HubForm().validate_on_submit():
        abort(400)
    country = _country_or_404(code)
    try:
        fact_texts.restore_fact_text(country.code, revision_id, current_user)
    except fact_texts.FactVersionNotFound:
        abort(404)
    except services.RegistryError as error:
        flash(str(error), "error")
    else:
        flash(_("The version is restored."), "success")
    return redirect(url_for(".country_history", code=country.code))


# One field of a registry fact in the reader's language (a ``hub.texts.core.Shown``).
bp.add_app_template_global(facts.fact, "fact")
# The texts of some programmes (their names…), read in one query, for ``fact``.
bp.add_app_template_global(facts.programme_texts, "programme_texts")
