"""Building blocks of the OpenAPI document (``hub.api.openapi``): the content, answer and
parameter helpers, the parameters and error answers many operations share, and the paths of
search (``add_search``), validation (``add_validate``) and of an entry's media
(``add_media``)."""

from hub.api.spec_schemas import (
    COLLECTIONS,
    SHORT_DESCRIPTION,
    VIEW_SCHEMAS,
    MediaListSchema,
    MediaSchema,
    ValidateResultSchema,
)
from hub.db import MAX_ID


def _json(ref):
    return {"application/json": {"schema": ref}}


def _error(description):
    return {"description": description, "content": _json("Error")}


def _status(code, description):
    return {code: _error(description)}


def _param(name, schema, where="query", **more):
    return {"name": name, "in": where, "schema": schema, **more}


LANG_PARAM = _param("lang", {"type": "string", "enum": ["vi", "en", "ja", "all"]})
# An entry's media answer in one language, the caller's (hub.i18n.api_language): ``lang`` is
# taken when it names one, and any other value is Accept-Language's, not a mistake.
MEDIA_LANG_PARAM = _param(
    "lang",
    {"type": "string"},
    description="vi, en or ja: the language of the alternative texts and messages; another "
    "value, or none: Accept-Language's",
)
# ``q=``: no control character (C0, DEL, C1), which the API refuses.
WORDS_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
GET_ERRORS = {
    "304": {"description": "Not modified (If-None-Match or If-Modified-Since)"},
    **_status("422", "Bad parameters, per parameter"),
    **_status("429", "Too many requests (see Retry-After)"),
}
WRITE_ERRORS = {
    **_status("400", "The JSON is nested too deeply (too_deep)"),
    **_status("401", "No valid token"),
    **_status("413", "Larger than the hub takes (too_large)"),
    **_status("422", "Invalid, per field"),
    **_status("429", "Too many requests (see Retry-After)"),
}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def add_search(spec, page, words):
    """``GET /api/v1/search`` (hub/api/search.py): ``page`` its language, limit and cursor
    parameters, ``words`` the ``q`` of the lists."""
    from hub.api.search import MAX_LIMIT

    views = [_ref(view.__name__) for view in VIEW_SCHEMAS.values()]
    results = {
        "type": "object",
        "properties": {
            "countries": {
                "type": "array",
                "items": _ref("Country"),
                "description": "First page only: the countries whose name in vi, en or ja holds "
                "every word, or whose code the query is",
            },
            "programmes": {
                "type": "array",
                "items": _ref("Programme"),
                "description": "First page only: the programmes whose name, local name, acronym "
                "or agency holds every word",
            },
            "items": {
                "type": "array",
                "items": {"anyOf": views},
                "description": "Published entries of every kind (collection says which), best "
                "first: by their title (the query itself, its words as whole words, the start "
                "of a word, anywhere), then by their texts; newest first in each",
            },
            "next_cursor": {
                "type": "string",
                "nullable": True,
                "description": "Opaque; pass as ?cursor= for the next page.",
            },
            "registry_first": {
                "type": "boolean",
                "description": "True when the countries or programmes are what was asked for "
                "(their name): a reader is shown them before the entries",
            },
            "short": {"type": "boolean", "description": SHORT_DESCRIPTION},
        },
        "required": ["countries", "programmes", "items", "next_cursor", "registry_first", "short"],
        "additionalProperties": False,
    }
    spec.components.schema("SearchResults", component=results)
    lang, _limit, cursor = page
    spec.path(
        path="/api/v1/search",
        operations={
            "get": {
                "summary": "Search countries, programmes and published entries, best first",
                "parameters": [
                    {**words, "required": True, "description": "The words to find"},
                    lang,
                    _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
                    cursor,
                ],
                "responses": {
                    "200": {"description": "A page of results", "content": _json("SearchResults")},
                    **GET_ERRORS,
                },
            }
        },
    )


def add_validate(spec):
    """``POST /api/v1/validate`` (hub/api/validate.py)."""
    spec.components.schema("ValidateResult", schema=ValidateResultSchema)
    kinds = ["exchange", "jsonfeed", "ical", "csv"]
    text = {"type": "string"}
    spec.path(
        path="/api/v1/validate",
        operations={
            "post": {
                "summary": "Check a document for your token's country; nothing is stored",
                "description": "What the document would create, update, leave unchanged and "
                "refuse (with the reasons per field, in the language asked for). The body is "
                "the document; or a multipart form with the document as `document` and the "
                "other parameters as text fields. See docs/sync.md.",
                "security": [{"bearer": []}],
                "parameters": [
                    _param(
                        "kind",
                        {"type": "string", "enum": kinds},
                        description="The document's kind (exchange unless said)",
                    ),
                    _param(
                        "settings",
                        text,
                        description="JSON object: the settings of a source of that kind",
                    ),
                    _param(
                        "source",
                        ID_SCHEMA,
                        description="One of your country's sources: its kind and settings, "
                        "compared with its entries",
                    ),
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "text/csv": {"schema": text},
                        "text/calendar": {"schema": text},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "document": {"type": "string", "format": "binary"},
                                    "kind": {"type": "string", "enum": kinds},
                                    "settings": text,
                                    "source": ID_SCHEMA,
                                },
                            }
                        },
                    },
                },
                "responses": {
                    "200": {
                        "description": "What the document would do",
                        "content": _json("ValidateResult"),
                    },
                    **_status("404", "Not one of your country's sources"),
                    **WRITE_ERRORS,
                    **_status("413", "The document is too large"),
                },
            }
        },
    )


ALT_TEXT = {"type": "string", "maxLength": 1000}


def add_media(spec):
    """An entry's photos and documents (hub/api/media.py, docs/media.md)."""
    spec.components.schema("Media", schema=MediaSchema)
    spec.components.schema("MediaList", schema=MediaListSchema)
    alts = {lang: ALT_TEXT for lang in ("vi", "en", "ja")}
    upload = {
        "type": "object",
        "properties": {
            "file": {"type": "string", "format": "binary"},
            **{f"alt.{lang}": text for lang, text in alts.items()},
        },
        "required": ["file"],
        "additionalProperties": False,
    }
    patch = {
        "type": "object",
        "properties": {
            "alts": {
                "type": "object",
                "description": "The languages sent are replaced; an empty text or null removes one",
                "properties": {lang: {**ALT_TEXT, "nullable": True} for lang in alts},
                "additionalProperties": False,
            },
            "position": {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_ID,
                "description": "0 is the cover; past the last: last",
            },
            "cover": {"type": "boolean", "description": "true: make it the cover"},
        },
        "additionalProperties": False,
    }
    ids = [_param("id", ID_SCHEMA, "path", required=True)]
    one = {"description": "The medium", "content": _json("Media")}
    for collection in COLLECTIONS:
        spec.path(
            path=f"/api/v1/{collection}/{{id}}/media",
            parameters=ids,
            operations={
                "get": {
                    "summary": "The entry's photos and documents, the cover first",
                    "description": "Anyone reads the ready media of a published entry; a "
                    "token of its country also its drafts' and the pending and failed ones.",
                    "security": [{}, {"bearer": []}],
                    "parameters": [MEDIA_LANG_PARAM],
                    "responses": {
                        "200": {"description": "Every medium", "content": _json("MediaList")},
                        **_status("401", "A token was sent but is not valid"),
                        **_status("404", "No such entry, or not one the caller may read"),
                        **GET_ERRORS,
                    },
                },
                "post": {
                    "summary": "Upload a photo (JPEG, PNG, WebP, HEIC) or a PDF",
                    "description": "The type is read from the bytes. The answer comes at once, "
                    "status pending: the variants follow within seconds (GET the Location).",
                    "security": [{"bearer": []}],
                    "parameters": [MEDIA_LANG_PARAM],
                    "requestBody": {
                        "required": True,
                        "content": {"multipart/form-data": {"schema": upload}},
                    },
                    "responses": {
                        "202": {
                            **one,
                            "headers": {
                                "Location": {
                                    "description": "The medium's address",
                                    "schema": {"type": "string"},
                                }
                            },
                        },
                        **_status("404", "Not one of your country's entries"),
                        **WRITE_ERRORS,
                    },
                },
            },
        )
        spec.path(
            path=f"/api/v1/{collection}/{{id}}/media/{{media_id}}",
            parameters=[*ids, _param("media_id", ID_SCHEMA, "path", required=True)],
            operations={
                "get": {
                    "summary": "One photo or document (its status says when it is ready)",
                    "security": [{}, {"bearer": []}],
                    "parameters": [MEDIA_LANG_PARAM],
                    "responses": {
                        "200": one,
                        **_status("401", "A token was sent but is not valid"),
                        **_status("404", "No such medium, or not one the caller may read"),
                        **GET_ERRORS,
                    },
                },
                "patch": {
                    "summary": "Change its alternative texts, its position or make it the cover",
                    "security": [{"bearer": []}],
                    "parameters": [MEDIA_LANG_PARAM],
                    "requestBody": {"required": True, "content": _json(patch)},
                    "responses": {
                        "200": {"description": "Changed", "content": _json("Media")},
                        **_status("404", "Not one of your country's entries' media"),
                        **WRITE_ERRORS,
                    },
                },
                "delete": {
                    "summary": "Remove it, with its files (final: there is no trash)",
                    "security": [{"bearer": []}],
                    "responses": {
                        "204": {"description": "Removed"},
                        **_status("404", "Not one of your country's entries' media"),
                        **WRITE_ERRORS,
                    },
                },
            },
        )
