"""The exchange format: how an entry travels between the hub and its partners (records that
connectors yield and the push endpoint takes; later also what ``lang=all`` answers).

A record holds the entry's texts per language, the language they were written in, its status and
its kind's own fields. marshmallow checks the shapes and types here; the rules of a valid entry
(``hub.publishing.services``) are applied after, the same as for a coordinator's form.
"""

from flask import has_app_context
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from hub.publishing import vocabulary as v
from hub.texts.core import is_outdated, version_in
from hub.urls import origin_url

LANGUAGES = ("vi", "en", "ja")
COUNTRY_PATTERN = "^[A-Z]{2}$"
SHA256_PATTERN = "^[0-9a-f]{64}$"


def _size_field():
    return fields.Int(load_default=None, allow_none=True, metadata={"minimum": 1})


def _doc(values, **more):
    """The documented values of a field (OpenAPI and JSON Schema only: loading still goes
    through the services' rules, whose messages are translated)."""
    return {"enum": list(values), **more}


class TextSchema(Schema):
    class Meta:
        unknown = RAISE

    title = fields.Str(load_default="")
    summary = fields.Str(load_default="")
    body = fields.Str(load_default="")
    lessons = fields.Str(load_default="")
    # Set on a translation made from an older version of the source text (on output).
    outdated = fields.Bool(load_default=False)


class PersonSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.Str(load_default=None, allow_none=True)
    url = fields.Str(load_default=None, allow_none=True)


class ResourceSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.Str(load_default=None, allow_none=True)
    url = fields.Str(required=True)
    format = fields.Str(load_default=None, allow_none=True)


class LicenceSchema(Schema):
    class Meta:
        unknown = RAISE

    title = fields.Str(load_default=None, allow_none=True)
    url = fields.Str(load_default=None, allow_none=True)
    id = fields.Str(load_default=None, allow_none=True)


class PartnerMetadataSchema(Schema):
    """What a partner says about an entry beyond the hub's own fields, kept and shown as it
    came (see docs/exchange-format.md, "Partner metadata"). Every key is optional."""

    class Meta:
        unknown = RAISE

    language = fields.Str(
        load_default=None,
        allow_none=True,
        metadata={"description": "The texts' language as the partner wrote it (BCP 47)."},
    )
    title_from_text = fields.Bool(
        load_default=False,
        metadata={"description": "The partner gave no title: it is the start of the text."},
    )
    published = fields.Str(load_default=None, allow_none=True, metadata={"format": "date-time"})
    modified = fields.Str(load_default=None, allow_none=True, metadata={"format": "date-time"})
    authors = fields.List(fields.Nested(PersonSchema), load_default=list)
    tags = fields.List(fields.Str(), load_default=list)
    resources = fields.List(fields.Nested(ResourceSchema), load_default=list)
    licence = fields.Nested(LicenceSchema, load_default=None, allow_none=True)


class OriginSchema(Schema):
    """Where an entry was first published: that hub's base URL and the entry's id there."""

    class Meta:
        unknown = RAISE

    hub = fields.Str(required=True, validate=validate.Length(min=1, max=500))
    id = fields.Str(required=True, validate=validate.Length(min=1, max=200))


# The longest attestation a record may carry (hub.verification.jws takes no longer one).
ATTESTATION_MAX_LENGTH = 8192
MEDIA_TYPES = ("image", "pdf")
MAX_RECORD_MEDIA = 20  # photos and documents a record may bring


class MediaVariantSchema(Schema):
    """One of the files a medium is served as (a width of the photo, in a format)."""

    class Meta:
        unknown = EXCLUDE

    url = fields.Str(required=True, metadata={"format": "uri"})
    mime = fields.Str(load_default=None, allow_none=True)
    width = _size_field()
    height = _size_field()
    size = fields.Int(load_default=None, allow_none=True, metadata={"minimum": 0})
    sha256 = fields.Str(
        load_default=None, allow_none=True, validate=validate.Regexp(SHA256_PATTERN)
    )


class MediaItemSchema(Schema):
    """A photo or a document of the entry (docs/media.md, "How media travel"): the file at
    ``url``, its type, size in bytes and pixels, SHA-256, and alternative texts per
    language. Only ``url`` is required of a partner."""

    class Meta:
        unknown = EXCLUDE  # what a newer hub adds is left aside, not refused

    type = fields.Str(load_default=None, allow_none=True, metadata=_doc([*MEDIA_TYPES, None]))
    url = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"format": "uri", "description": "Absolute http(s) URL of the file."},
    )
    mime = fields.Str(load_default=None, allow_none=True)
    size = fields.Int(load_default=None, allow_none=True, metadata={"minimum": 0})
    sha256 = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(SHA256_PATTERN),
        metadata={"description": "SHA-256 of the bytes at url (lowercase hex)."},
    )
    width = _size_field()
    height = _size_field()
    cover = fields.Bool(load_default=False)
    alts = fields.Dict(
        keys=fields.Str(validate=validate.OneOf(LANGUAGES)),
        values=fields.Str(),
        load_default=dict,
        metadata={"description": "The alternative text in each language."},
    )
    variants = fields.List(fields.Nested(MediaVariantSchema), load_default=list)


class RecordSchema(Schema):
    class Meta:
        unknown = RAISE

    # Optional (docs/exchange-format.md): where the entry was first published, and the country
    # it is filed under when it is not the source's own (hub sources, see docs/sync.md).
    origin = fields.Nested(OriginSchema, load_default=None, allow_none=True)
    country = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=2, max=2),
        metadata={"pattern": COUNTRY_PATTERN},
    )

    source_language = fields.Str(required=True, validate=validate.OneOf(LANGUAGES))
    status = fields.Str(
        load_default="published", validate=validate.OneOf(("draft", "published", "archived"))
    )
    translations = fields.Dict(
        keys=fields.Str(validate=validate.OneOf(LANGUAGES)),
        values=fields.Nested(TextSchema),
        required=True,
        validate=validate.Length(min=1),
    )
    partner_metadata = fields.Nested(PartnerMetadataSchema, load_default=None, allow_none=True)
    # The entry's photos and documents, the cover first (only ready ones travel). Absent or
    # null: the record says nothing of them (what the hub holds is kept); a list, even empty,
    # is the partner's whole set.
    media = fields.List(
        fields.Nested(MediaItemSchema),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_RECORD_MEDIA),
    )


def _opt(field_class, **kwargs):
    return field_class(load_default=None, allow_none=True, **kwargs)


class PolicyRecordSchema(RecordSchema):
    instrument = _opt(fields.Str, metadata=_doc([*v.INSTRUMENTS, None]))
    reference_number = _opt(fields.Str)
    issuing_body = _opt(fields.Str)
    issued_on = _opt(fields.Date)
    link = _opt(fields.Str)


class OutcomeSchema(Schema):
    class Meta:
        unknown = RAISE

    metric = fields.Str(required=True, metadata=_doc(v.OUTCOME_METRICS))
    value = fields.Float(required=True)
    unit = fields.Str(load_default="")


class ExperienceRecordSchema(RecordSchema):
    outcomes = fields.List(fields.Nested(OutcomeSchema), load_default=list)


class FairRecordSchema(RecordSchema):
    venue = _opt(fields.Str)
    city = _opt(fields.Str)
    location_country = _opt(fields.Str, metadata={"pattern": COUNTRY_PATTERN})
    start_date = fields.Date(required=True)
    end_date = _opt(fields.Date)
    start_time = _opt(fields.Time)
    end_time = _opt(fields.Time)
    all_day = fields.Bool(load_default=False)
    timezone = fields.Str(required=True)
    fair_status = fields.Str(load_default="scheduled", metadata=_doc(v.FAIR_STATUSES))
    organiser = _opt(fields.Str)
    website = _opt(fields.Str)
    product_groups = fields.List(fields.Str(metadata=_doc(v.PRODUCT_GROUPS)), load_default=list)
    registration_deadline = _opt(fields.Date)
    # The exhibitors: this hub's ids of the products shown at the fair (absent or null: the
    # record says nothing of them), and the countries exhibiting (alpha-2).
    exhibitors = fields.List(
        fields.Int(strict=True),
        load_default=None,
        allow_none=True,
        metadata={"description": "Ids of the exhibiting products, on the hub that answers."},
    )
    exhibitor_countries = fields.List(
        fields.Str(metadata={"pattern": COUNTRY_PATTERN}), load_default=None, allow_none=True
    )


def _label_field(**kwargs):
    """A list item's label (a shop's or a certificate's name): a text in the source language,
    or its texts per language. Its shape is checked by the publishing rules (translated
    messages); documented here."""
    return fields.Raw(
        metadata={
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {language: {"type": "string"} for language in LANGUAGES},
                    "additionalProperties": False,
                },
            ],
            "description": "A text in the source language, or its texts per language.",
        },
        **kwargs,
    )


class PlaceToBuySchema(Schema):
    """A shop, a market stall or an online shop where the product is sold."""

    class Meta:
        unknown = RAISE

    name = _label_field(load_default=None, allow_none=True)
    url = _opt(fields.Str, metadata={"format": "uri"})
    address = _opt(fields.Str)


class CertificateSchema(Schema):
    """A certificate the product holds (organic, VietGAP, ISO 22000, …)."""

    class Meta:
        unknown = RAISE

    name = _label_field(required=True)
    issuer = _opt(fields.Str)
    issued_on = _opt(fields.Str, metadata={"format": "date"})
    url = _opt(fields.Str, metadata={"format": "uri"})


class ProductRecordSchema(RecordSchema):
    producer_name = _opt(fields.Str)
    producer_type = _opt(fields.Str, metadata=_doc([*v.PRODUCER_TYPES, None]))
    locality = _opt(fields.Str)
    # Where the producer is (WGS 84 degrees), both or neither.
    latitude = _opt(fields.Float, metadata={"minimum": -90, "maximum": 90})
    longitude = _opt(fields.Float, metadata={"minimum": -180, "maximum": 180})
    product_group = fields.Str(required=True, metadata=_doc(v.PRODUCT_GROUPS))
    rating_scheme = _opt(fields.Str, metadata=_doc([*v.RATING_SCHEMES, None]))
    stars = _opt(fields.Int, strict=False, metadata={"minimum": 1, "maximum": 5})
    rated_on = _opt(fields.Date)
    valid_until = _opt(fields.Date)
    # The producer's contact details travel only when public (contact_public true).
    contact_email = _opt(fields.Str)
    contact_phone = _opt(fields.Str)
    contact_website = _opt(fields.Str, metadata={"format": "uri"})
    contact_public = fields.Bool(load_default=False)
    where_to_buy = fields.List(
        fields.Nested(PlaceToBuySchema), load_default=list, validate=validate.Length(max=20)
    )
    certificates = fields.List(
        fields.Nested(CertificateSchema), load_default=list, validate=validate.Length(max=20)
    )
    # The rating as its issuing hub signed it, and the day that hub withdrew it: both travel
    # unchanged from hub to hub (docs/verification.md, "Federation").
    rating_withdrawn_on = _opt(fields.Date)
    attestation = _opt(
        fields.Str,
        validate=validate.Length(max=ATTESTATION_MAX_LENGTH),
        metadata={
            "description": "The rating signed by its issuing hub: a compact JWS (EdDSA), "
            "verified with the keys at its iss + /.well-known/hub-keys.json."
        },
    )


RECORD_SCHEMAS = {
    "policy": PolicyRecordSchema(),
    "experience": ExperienceRecordSchema(),
    "fair": FairRecordSchema(),
    "product": ProductRecordSchema(),
}
COLLECTION_KINDS = {
    "policies": "policy",
    "experiences": "experience",
    "fairs": "fair",
    "products": "product",
}


def _iso(value):
    return value.isoformat() if value is not None else None


KIND_FIELDS = {
    "policy": ("instrument", "reference_number", "issuing_body", "issued_on", "link"),
    "experience": ("outcomes",),
    "fair": (
        "venue",
        "city",
        "location_country",
        "all_day",
        "timezone",
        "fair_status",
        "organiser",
        "website",
        "product_groups",
        "registration_deadline",
        "exhibitors",
        "exhibitor_countries",
    ),
    "product": (
        "producer_name",
        "producer_type",
        "locality",
        "product_group",
        "rating_scheme",
        "stars",
        "rated_on",
        "valid_until",
        "contact_email",
        "contact_phone",
        "contact_website",
        "contact_public",
        "where_to_buy",
        "certificates",
        # Last: an export's columns keep their places.
        "latitude",
        "longitude",
    ),
}
# Left out of a product's record while its contact details are private.
PRIVATE_CONTACT = ("contact_email", "contact_phone", "contact_website")


def dump_record(entry, media=None):
    """An entry in the exchange format: what ``RECORD_SCHEMAS[kind]`` loads back. Each
    translation says whether it was made from an older version of the source text.
    ``media``: the entry's ready media as ``hub.media.services.record_item`` gives them (a
    list, read for a whole page at once by ``for_records``); None leaves ``media`` out."""
    source = version_in(entry.translations, entry.source_language)

    def outdated(t):
        return is_outdated(t, source)

    data = {
        "source_language": entry.source_language,
        "status": entry.status,
        "translations": {
            t.language: {
                "title": t.title,
                "summary": t.summary,
                "body": t.body,
                "lessons": t.lessons,
                "outdated": outdated(t),
            }
            for t in entry.translations
            if t.title
        },
    }
    if (origin := entry_origin(entry)) is not None:
        data["origin"] = origin
    for name in KIND_FIELDS[entry.kind]:
        value = getattr(entry, name)
        data[name] = value.isoformat() if hasattr(value, "isoformat") else value
    if entry.kind == "fair":
        data["exhibitors"] = [p.id for p in entry.exhibitors or () if p.deleted_dt is None]
        data["exhibitor_countries"] = entry.exhibitor_countries or []
    if entry.kind == "product":
        data["contact_public"] = bool(entry.contact_public)
        data["where_to_buy"] = entry.where_to_buy or []
        data["certificates"] = entry.certificates or []
        if not entry.contact_public:
            for name in PRIVATE_CONTACT:
                data[name] = None
        # The producer's location only when given, so that the records of products without
        # one read as before (a follower's sync sees them unchanged); absent means none.
        if data["latitude"] is None or data["longitude"] is None:
            del data["latitude"], data["longitude"]
        # Only when there is one, so that records of unrated products read as before.
        if (withdrawn := getattr(entry, "rating_withdrawn_on", None)) is not None:
            data["rating_withdrawn_on"] = _iso(withdrawn)
        if (signed := _attestation(entry)) is not None:
            data["attestation"] = signed
    if metadata := getattr(entry, "partner_metadata", None):
        data["partner_metadata"] = metadata
    if entry.kind == "fair" and entry.starts_local is not None:
        data["start_date"] = _iso(entry.starts_local.date())
        data["end_date"] = _iso(entry.ends_local.date())
        timed = not entry.all_day
        data["start_time"] = entry.starts_local.strftime("%H:%M") if timed else None
        data["end_time"] = entry.ends_local.strftime("%H:%M") if timed else None
    if media is not None:
        data["media"] = list(media)
    return data


def _attestation(entry):
    # Imported here: hub.verification's services import the publishing services, which import
    # this module.
    from hub.verification.services import travelling_attestation

    return travelling_attestation(entry)


def entry_origin(entry):
    """``{"hub": …, "id": …}``: where ``entry`` was first published. An entry with no origin
    of its own was first published here, as this hub (``HUB_BASE_URL``) and its id; None
    while that id is not known yet (an entry the sync has not inserted), or when
    ``HUB_BASE_URL`` is not set: a follower then takes the origin to be this hub's root URL,
    as it reaches it, and the entry's id."""
    hub, origin_id = getattr(entry, "origin_hub", None), getattr(entry, "origin_id", None)
    if hub and origin_id:
        return {"hub": hub, "id": origin_id}
    entry_id = getattr(entry, "id", None)
    if entry_id is None or not has_app_context() or (here := origin_url()) is None:
        return None
    return {"hub": here, "id": str(entry_id)}


# marshmallow's own messages that records can produce, marked for the hub's catalogues so that
# refusals read in every language (see ``translate_errors``).
MARSHMALLOW_MESSAGES = (
    _l("Missing data for required field."),
    _l("Field may not be null."),
    _l("Invalid value."),
    _l("Not a valid string."),
    _l("Not a valid integer."),
    _l("Not a valid number."),
    _l("Number too large."),
    _l("Special numeric values (nan or infinity) are not permitted."),
    _l("Not a valid date."),
    _l("Not a valid time."),
    _l("Not a valid boolean."),
    _l("Not a valid list."),
    _l("Not a valid mapping type."),
    _l("Invalid type."),
    _l("Invalid input type."),
    _l("Unknown field."),
)


def translate_errors(messages):
    """marshmallow's error messages (nested dicts and lists of English strings) in the current
    language, where the catalogues have them."""
    if isinstance(messages, dict):
        return {str(key): translate_errors(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [translate_errors(m) for m in messages]
    if isinstance(messages, str):
        return gettext(messages)
    return messages
