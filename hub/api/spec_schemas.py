"""The marshmallow schemas of what /api/v1 answers with and accepts, which its OpenAPI document
(``hub.api.openapi``) describes: the errors, the views of the entries and of the registry's facts,
their pages, the revisions, the changes feed, pushes and validation. The exchange-format records
themselves are ``hub.publishing.exchange``'s; ``RECORD_NAMES`` names them in the document."""

import copy

from marshmallow import Schema, fields

from hub.api.errors import ERROR_CODES
from hub.history.models import ACTIONS
from hub.publishing.exchange import (
    COUNTRY_PATTERN,
    KIND_FIELDS,
    RECORD_SCHEMAS,
    MediaItemSchema,
)
from hub.registry.models import STATUS_VALUES
from hub.search.queries import SHORT_WINDOW

RECORD_NAMES = {
    "policy": "PolicyRecord",
    "experience": "ExperienceRecord",
    "fair": "FairRecord",
    "product": "ProductRecord",
}
COLLECTIONS = {
    "policies": "policy",
    "experiences": "experience",
    "fairs": "fair",
    "products": "product",
}


class ErrorBodySchema(Schema):
    code = fields.Int(required=True, metadata={"description": "The HTTP status."})
    reason = fields.Str(
        required=True,
        metadata={
            "enum": ERROR_CODES,
            "description": "Stable and machine-readable: it never changes with the language "
            "(see docs/exchange-format.md, Errors).",
        },
    )
    message = fields.Str(
        required=True,
        metadata={
            "description": "In the language of ?lang= (vi, en or ja), else of Accept-Language, "
            "else in English."
        },
    )
    details = fields.Dict(required=True, metadata={"description": "Per field: a list of messages."})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class MediaViewSchema(MediaItemSchema):
    """A medium in an entry's view (``lang=vi|en|ja``): as the exchange format carries it, with
    the alternative text in the language served."""

    alt = fields.Str(
        allow_none=True,
        metadata={"description": "The alternative text in the language asked, else another."},
    )
    alt_language = fields.Str(allow_none=True, metadata={"description": "The alt's language."})
    alt_fallback = fields.Bool(
        metadata={"description": "True when the alt is in another language."}
    )


class EntryViewSchema(Schema):
    id = fields.Int(required=True)
    collection = fields.Str(required=True)
    country = fields.Str(required=True, metadata={"pattern": COUNTRY_PATTERN})
    origin = fields.Str(
        required=True,
        metadata={"enum": ["local", "partner", "sample"], "description": "Who wrote it"},
    )
    published_dt = fields.DateTime(allow_none=True)
    updated_dt = fields.DateTime(required=True)
    language = fields.Str(
        metadata={"description": "The language the texts are served in (lang=vi|en|ja)."}
    )
    requested_language = fields.Str()
    fallback = fields.Bool(
        metadata={"description": "True when the requested language was missing."}
    )
    outdated = fields.Bool(
        metadata={"description": "True for a translation of an older source text."}
    )
    source_language = fields.Str(
        metadata={"enum": ["vi", "en", "ja"], "description": "The language it was written in."}
    )
    source_changed = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "When outdated: when the source text changed after the served "
            "translation was made; else null."
        },
    )
    title = fields.Str()
    summary = fields.Str()
    body = fields.Str(metadata={"description": "Markdown."})
    lessons = fields.Str()
    media = fields.List(
        fields.Nested(MediaViewSchema),
        metadata={
            "description": "The ready photos and documents, the cover first (lang=vi|en|ja)."
        },
    )


def _view_schema(kind, name):
    """The view of one kind: the common head, the texts in the language served, the kind's
    own fields (``lang=vi|en|ja``) or the whole record in the exchange format (``lang=all``)."""
    record_schema = type(RECORD_SCHEMAS[kind])
    names = KIND_FIELDS[kind]
    if kind == "fair":
        names += ("start_date", "end_date", "start_time", "end_time")
    extra = {}
    for field_name in names:
        field = copy.copy(record_schema._declared_fields[field_name])
        field.required = False
        field.allow_none = True
        extra[field_name] = field
    extra["record"] = fields.Nested(
        record_schema, metadata={"description": "With lang=all: the entry in the exchange format."}
    )
    return EntryViewSchema.from_dict(extra, name=name)


VIEW_SCHEMAS = {kind: _view_schema(kind, f"{name[:-6]}View") for kind, name in RECORD_NAMES.items()}


SHORT_DESCRIPTION = (
    "True when every word of q has one or two characters, which the index cannot look up: they "
    f"were looked for in the {SHORT_WINDOW:,} newest entries only."
)


def page_schema(view, name, words=False):
    """A page of ``view``: its items and the cursor of the next page; with ``words``, whether
    its ``q=`` was read from the newest entries only (``short``)."""
    found = {
        "items": fields.List(fields.Nested(view), required=True),
        "next_cursor": fields.Str(
            allow_none=True,
            metadata={"description": "Opaque; pass as ?cursor= for the next page."},
        ),
    }
    if words:
        found["short"] = fields.Bool(metadata={"description": f"With q=: {SHORT_DESCRIPTION}"})
    return Schema.from_dict(found, name=name)


def _fact_text(description):
    return fields.Raw(
        allow_none=True,
        metadata={
            "description": f"{description} In the language of ?lang=, else in the fact's "
            "source language (text_languages says which); with lang=all, an object of the "
            "texts by language."
        },
    )


class FactTextsMixin(Schema):
    """What a fact's translated fields come with (lang=vi|en|ja only)."""

    text_languages = fields.Dict(
        keys=fields.Str(),
        values=fields.Str(),
        metadata={"description": "The language each translated field is served in."},
    )
    outdated_texts = fields.Dict(
        keys=fields.Str(),
        values=fields.Dict(),
        metadata={
            "description": "The fields served from a translation of an older source text: "
            "{field: {source_language, source_changed}}."
        },
    )


class ActorSchema(Schema):
    type = fields.Str(
        required=True,
        metadata={"enum": ["user", "token", "source", "hub"], "description": "Who made it"},
    )
    name = fields.Str(
        allow_none=True,
        metadata={"description": "A token's name, a source's address; none for a person"},
    )


class RevisionSchema(Schema):
    id = fields.Int(required=True)
    created = fields.DateTime(required=True)
    action = fields.Str(required=True, metadata={"enum": list(ACTIONS)})
    language = fields.Str(allow_none=True, metadata={"description": "The text's, for texts"})
    actor = fields.Nested(ActorSchema, required=True)
    changes = fields.Dict(
        keys=fields.Str(),
        values=fields.Dict(),
        required=True,
        metadata={
            "description": "Per field the change touched: {old, new}; texts as field.language "
            "(title.vi)"
        },
    )
    subject = fields.Dict(
        metadata={"description": "In a country's history: the fact changed, {type, id}"}
    )


class ProgrammeViewSchema(FactTextsMixin):
    id = fields.Int(required=True)
    country = fields.Str(required=True, metadata={"pattern": COUNTRY_PATTERN})
    name = _fact_text("The programme's name.")
    local_name = fields.Str(allow_none=True)
    acronym = fields.Str(allow_none=True)
    start_year = fields.Int(allow_none=True)
    lead_agency = _fact_text("The agency that leads it.")
    website = fields.Str(allow_none=True)
    rating_scheme = _fact_text("How its products are rated.")
    note = _fact_text("What the registry notes about it.")
    verified = fields.Bool(required=True)


class MembershipEventSchema(FactTextsMixin):
    status = fields.Str(required=True, metadata={"enum": list(STATUS_VALUES)})
    previous_status = fields.Str(allow_none=True, metadata={"enum": [*STATUS_VALUES, None]})
    effective_on = fields.Date(required=True)
    note = _fact_text("The note recorded with the change, in the language it was written in.")


class SourceViewSchema(FactTextsMixin):
    id = fields.Str()
    title = _fact_text("The source's title, translated.")
    original_title = fields.Str(metadata={"description": "The source's own title."})
    publisher = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    year = fields.Int(allow_none=True)


class CountryViewSchema(Schema):
    code = fields.Str(required=True, metadata={"pattern": COUNTRY_PATTERN})
    name = fields.Raw(
        required=True,
        metadata={
            "description": "CLDR's name in the language asked for; with lang=all, an object "
            "of the names in vi, en and ja."
        },
    )
    region = fields.Str(required=True)
    membership_status = fields.Str(required=True, metadata={"enum": list(STATUS_VALUES)})
    status_since_on = fields.Date(required=True)
    founding_member = fields.Bool(required=True)
    founding_member_verified = fields.Bool(required=True)
    verified = fields.Bool(required=True)
    programmes = fields.List(fields.Nested(ProgrammeViewSchema), required=True)


class CountryDetailSchema(CountryViewSchema, FactTextsMixin):
    note = _fact_text("What the registry notes about the country.")
    membership_history = fields.List(fields.Nested(MembershipEventSchema), required=True)
    sources = fields.List(fields.Nested(SourceViewSchema), required=True)


class ChangeSchema(Schema):
    seq = fields.Int(required=True)
    id = fields.Int(required=True)
    collection = fields.Str(required=True, metadata={"enum": list(COLLECTIONS)})
    country = fields.Str(required=True, metadata={"pattern": COUNTRY_PATTERN})
    updated_dt = fields.DateTime(required=True)
    deleted = fields.Bool(required=True)
    record = fields.Dict(metadata={"description": "The exchange format, unless deleted."})


EPOCH_DESCRIPTION = (
    "The feed's history: a hub restored from a backup starts a new one. Send it back as "
    '?epoch= with ?since= (docs/sync.md, "A new history").'
)


class ChangesPageSchema(Schema):
    items = fields.List(fields.Nested(ChangeSchema), required=True)
    next_since = fields.Int(required=True)
    more = fields.Bool(required=True)
    epoch = fields.Str(required=True, metadata={"description": EPOCH_DESCRIPTION})


class ChangesRestartedSchema(ErrorSchema):
    """410 from the changes feed: the cursor is not of this feed's history; the baseline."""

    epoch = fields.Str(required=True, metadata={"description": EPOCH_DESCRIPTION})
    next_since = fields.Int(
        required=True, metadata={"enum": [0], "description": "Where to start again: 0."}
    )


class PushItemSchema(Schema):
    id = fields.Str(required=True)
    collection = fields.Str(required=True)
    deleted = fields.Bool()
    record = fields.Dict()


class PushSchema(Schema):
    records = fields.List(fields.Nested(PushItemSchema), required=True)


class PushResultSchema(Schema):
    run = fields.Int(required=True)
    status = fields.Str(required=True)
    counts = fields.Dict(keys=fields.Str(), values=fields.Int(), required=True)
    rejected = fields.List(fields.Dict(), required=True)


class ValidateResultSchema(Schema):
    stored = fields.Bool(required=True, metadata={"description": "Always false: a dry run."})
    kind = fields.Str(required=True, metadata={"enum": ["exchange", "jsonfeed", "ical", "csv"]})
    country = fields.Str(required=True, metadata={"pattern": COUNTRY_PATTERN})
    source = fields.Int(
        allow_none=True,
        metadata={
            "description": "The source compared with (the country's push source for "
            "exchange documents), or null: every good record would be created."
        },
    )
    complete = fields.Bool(
        required=True,
        metadata={"description": "False when the document links to pages not read."},
    )
    counts = fields.Dict(
        keys=fields.Str(),
        values=fields.Int(),
        required=True,
        metadata={"description": "fetched, created, updated, unchanged, deleted, rejected"},
    )
    rejected = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "The first refused records: id, collection, reasons per field (the "
            "field's name is stable, its messages in the language asked for) and, for a CSV, "
            "columns: the file's own header of each field."
        },
    )
    rejected_listed = fields.Int(required=True)


class MediaOriginalSchema(Schema):
    mime = fields.Str(required=True, metadata={"description": "Sniffed from its bytes"})
    size = fields.Int(required=True, metadata={"description": "Bytes"})
    sha256 = fields.Str(required=True, metadata={"pattern": "^[0-9a-f]{64}$"})


class MediaSchema(MediaViewSchema):
    """A photo or a document as its entry's owners see it (``hub.media.services.describe``):
    the item entries carry, with its processing state and the upload it was made from. While
    it is not ready, ``url``, ``mime``, ``size`` and ``sha256`` are null and ``variants`` empty."""

    id = fields.Int(required=True)
    url = fields.Str(
        allow_none=True,
        metadata={"format": "uri", "description": "null until the medium is ready"},
    )
    status = fields.Str(
        required=True,
        metadata={
            "enum": ["pending", "ready", "failed"],
            "description": "pending while the variants are made (seconds), then ready or failed",
        },
    )
    failure = fields.Str(allow_none=True, metadata={"description": "Why it failed: a code"})
    failure_message = fields.Str(allow_none=True, metadata={"description": "The same, in words"})
    position = fields.Int(required=True, metadata={"description": "0, 1, 2…: the order"})
    filename = fields.Str(allow_none=True)
    original = fields.Nested(
        MediaOriginalSchema,
        required=True,
        metadata={"description": "The upload, kept privately: never served"},
    )


class MediaListSchema(Schema):
    items = fields.List(fields.Nested(MediaSchema), required=True)
