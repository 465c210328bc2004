"""The fast record loader against marshmallow: whatever it loads, marshmallow loads the same
way (values and types); whatever it is unsure of goes to marshmallow; and the records partners
send in the ordinary way are loaded fast."""

import math
from datetime import date, time

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from marshmallow import INCLUDE, Schema, ValidationError, fields, post_load, validate

from hub.publishing.exchange import RECORD_SCHEMAS
from hub.publishing.fastload import Unsure, compile_loader, record_loader

FAST = {kind: compile_loader(schema) for kind, schema in RECORD_SCHEMAS.items()}


def typed(value):
    """``value`` with the type of every part spelled out: 4 and 4.0 differ, as do 1 and True."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


TEXTS = st.one_of(st.text(max_size=12), st.sampled_from(["Chè", "お茶", ""]))
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=10),
    st.sampled_from([2**1100, 4.0, 4.5, math.nan, math.inf, "4", "true", "1", b"x", [], {}]),
    st.sampled_from(
        ["2025-03-01", "20250301", "2025-W01-1", "2025-02-30", "2025-3-1", " 2025-03-01"]
    ),
    st.sampled_from(["08:30", "08:30:15", "08:30:15.5", "8:30", "T08:30", "0830", "25:00"]),
    st.sampled_from(["vi", "en", "ja", "fr", "published", "draft", "archived", "food"]),
    TEXTS,
)


def mostly(strategy):
    """``strategy`` nine times in ten, an odd value otherwise."""
    return st.integers(0, 9).flatmap(lambda n: ODD if n == 0 else strategy)


def plain(field):
    """Values ``field`` takes as they are (with an odd one now and then, at every level)."""
    choices = [v.choices for v in field.validators if isinstance(v, validate.OneOf)]
    if choices:
        return st.sampled_from(sorted(choices[0]))
    patterns = [v.regex for v in field.validators if isinstance(v, validate.Regexp)]
    if patterns:  # a SHA-256, say: mostly one that matches
        return st.one_of(st.from_regex(patterns[0], fullmatch=True), TEXTS)
    if isinstance(field, fields.Nested):
        return schema_values(field.schema)
    if isinstance(field, fields.List):
        return st.lists(mostly(plain(field.inner)), max_size=2)
    if isinstance(field, fields.Dict):
        values = mostly(plain(field.value_field))
        return st.dictionaries(plain(field.key_field), values, min_size=1, max_size=3)
    if isinstance(field, fields.Boolean):
        return st.booleans()
    if isinstance(field, fields.Integer):
        return st.integers(min_value=-5, max_value=2**40)
    if isinstance(field, fields.Float):
        return st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers())
    if isinstance(field, fields.Date):
        return st.dates().map(date.isoformat)
    if isinstance(field, fields.Time):
        return st.times().map(time.isoformat)
    if type(field) is fields.Raw:  # a name, or its texts per language
        return st.one_of(TEXTS, st.dictionaries(st.sampled_from(["vi", "en", "ja"]), TEXTS))
    return TEXTS


def schema_values(schema):
    required = {n: mostly(plain(f)) for n, f in schema.load_fields.items() if f.required}
    optional = {n: mostly(plain(f)) for n, f in schema.load_fields.items() if not f.required}
    optional["unknown_key"] = ODD  # now and then a key the schema does not know
    return st.fixed_dictionaries(required, optional=optional)


def records(kind):
    return schema_values(RECORD_SCHEMAS[kind])


@pytest.mark.parametrize("kind", sorted(RECORD_SCHEMAS))
@settings(max_examples=400, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_what_the_fast_loader_loads_marshmallow_loads_the_same(kind, data):
    record = data.draw(records(kind))
    try:
        fast = FAST[kind](record)
    except Unsure:
        event("unsure: marshmallow decides")
        return
    event("loaded fast")
    assert typed(RECORD_SCHEMAS[kind].load(record)) == typed(fast)


ORDINARY = {
    "product": {
        "source_language": "vi",
        "status": "published",
        "translations": {
            "vi": {"title": "Chè Tân Cương", "body": "Chè búp"},
            "en": {"title": "Tan Cuong tea", "outdated": True},
        },
        "product_group": "beverages",
        "rating_scheme": "ocop",
        "stars": 4,
        "rated_on": "2024-05-01",
        "producer_name": None,
        "latitude": "21.5925",  # a CSV's cell
        "longitude": 105.8442,
        "where_to_buy": [{"name": {"vi": "Cửa hàng", "en": "Shop"}, "url": "https://s.example"}],
        "certificates": [{"name": "VietGAP"}],
    },
    "fair": {
        "source_language": "en",
        "translations": {"en": {"title": "OCOP Fair"}},
        "start_date": "2026-12-01",
        "end_date": "2026-12-03",
        "start_time": "08:00",
        "timezone": "Asia/Ho_Chi_Minh",
        "product_groups": ["food"],
    },
    "experience": {
        "source_language": "en",
        "translations": {"en": {"title": "A pilot", "lessons": "- Start small"}},
        "outcomes": [{"metric": "producers", "value": 300, "unit": "producers"}],
    },
    "policy": {
        "source_language": "vi",
        "translations": {"vi": {"title": "Quyết định 490"}},
        "instrument": "decision",
        "issued_on": "2018-05-07",
    },
}


@pytest.mark.parametrize("kind", sorted(ORDINARY))
def test_ordinary_records_are_loaded_fast_and_exactly(kind):
    loaded = FAST[kind](ORDINARY[kind])
    assert typed(loaded) == typed(RECORD_SCHEMAS[kind].load(ORDINARY[kind]))
    if kind == "product":
        assert loaded["rated_on"] == date(2024, 5, 1) and loaded["valid_until"] is None
        assert (loaded["latitude"], loaded["longitude"]) == (21.5925, 105.8442)
    if kind == "fair":
        assert loaded["start_time"] == time(8) and loaded["all_day"] is False


def test_records_it_is_unsure_of_get_marshmallows_answer():
    load = record_loader(RECORD_SCHEMAS)
    coerced = {**ORDINARY["product"], "stars": " 4"}  # spaced: marshmallow coerces it
    with pytest.raises(Unsure):
        FAST["product"](coerced)
    assert load("product", coerced)["stars"] == 4
    with pytest.raises(ValidationError) as refused:
        load("product", {**ORDINARY["product"], "stars": "four", "colour": "green"})
    assert refused.value.messages == {
        "stars": ["Not a valid integer."],
        "colour": ["Unknown field."],
    }


def test_schemas_it_cannot_vouch_for_get_no_fast_loader():
    class WithHook(Schema):
        name = fields.Str()

        @post_load
        def shout(self, data, **_kwargs):
            return {"name": data["name"].upper()}

    class WithOtherValidator(Schema):
        stars = fields.Int(validate=validate.Range(min=1))

    class KeepingUnknownKeys(Schema):
        class Meta:
            unknown = INCLUDE

        name = fields.Str()

    class WithOtherField(Schema):
        link = fields.Url()

    assert compile_loader(WithHook()) is None
    assert compile_loader(WithOtherValidator()) is None
    assert compile_loader(KeepingUnknownKeys()) is None
    assert compile_loader(WithOtherField()) is None
