"""The administrators' pages for translating the registry's facts (registry facts are the
administrators'): a fact's translation into one language beside its original, what changed in
the original since, and "Translation up to date". The translation queue lists the facts
(``routes_manage.translation_queue``)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from hub.accounts.auth import admin_required
from hub.i18n import languages
from hub.publishing import forms, manage_bp
from hub.registry import fact_texts, facts

FACT_RULE = f"/facts/<any({', '.join(facts.FIELDS)}):subject>/<key>/translations/<text_lang>"


def _fact_or_404(subject, key, text_lang):
    try:
        return fact_texts.fact_translation(current_user, subject, key, text_lang)
    except fact_texts.FactNotFound:
        abort(404)


@manage_bp.route(FACT_RULE, methods=["GET", "POST"])
@admin_required
def fact_translation(subject, key, text_lang):
    source, current = _fact_or_404(subject, key, text_lang)
    values = dict(current.fields) if current is not None else {}
    errors = {}
    if request.method == "POST":
        if not forms.HubForm().validate_on_submit():
            abort(400)
        values = {name: request.form.get(name, "") for name in facts.FIELDS[subject]}
        try:
            fact_texts.translate_fact(current_user, subject, key, text_lang, values)
        except fact_texts.FactInvalid as exc:
            errors = exc.errors
        else:
            flash(_("The translation is saved."), "success")
            return redirect(
                url_for(".fact_translation", subject=subject, key=key, text_lang=text_lang)
            )
    outdated = current is not None and current.source_fingerprint != source.fingerprint
    changes, before = (
        fact_texts.fact_source_changes(subject, key, source, current) if outdated else (None, None)
    )
    return render_template(
        "manage/fact.html",
        subject=subject,
        key=key,
        text_lang=text_lang,
        source=source,
        translation=current,
        labels=facts.field_labels(subject),
        limits=facts.TEXT_LIMITS,
        place=facts.places([(subject, key)])[(subject, key)],
        values=values,
        errors=errors,
        outdated=outdated,
        changes=changes,
        before=before,
    ), (422 if errors else 200)


@manage_bp.route(f"{FACT_RULE}/confirm", methods=["POST"])
@admin_required
def confirm_fact_translation(subject, key, text_lang):
    if not forms.HubForm().validate_on_submit():
        abort(400)
    try:
        fact_texts.confirm_fact_translation(current_user, subject, key, text_lang)
    except fact_texts.FactNotFound:
        abort(404)
    flash(_("The translation is marked as up to date with the original."), "success")
    return redirect(url_for(".translation_queue"))


@manage_bp.app_template_global()
def fact_subject_name(subject):
    """What kind of fact ``subject`` is, in the reader's language."""
    return str(facts.SUBJECT_NAMES[subject])


@manage_bp.app_template_global()
def fact_states(item):
    """The state of an ``Untranslated`` fact's text in each UI language: source, done,
    outdated or missing."""
    states = []
    for code in languages():
        if code == item.source.language:
            state = "source"
        elif code in item.missing:
            state = "missing"
        elif code in item.outdated:
            state = "outdated"
        else:
            state = "done"
        states.append((code, state))
    return states
