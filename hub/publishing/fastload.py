"""Loading exchange-format records without marshmallow's per-field machinery, for the common
case of a record that is right as it is.

A sync of 100 000 records spent a third of its time in ``Schema.load``. ``compile_loader`` turns
a schema made of plain fields (strings, numbers, booleans, ISO dates and times, lists, dicts,
nested schemas and raw values, with ``OneOf``, ``Length`` and ``Regexp`` validators, no hooks,
and unknown keys refused or excluded) into a function that gives what ``schema.load`` gives, or
raises ``Unsure`` whenever a value is anything but plainly right: a wrong type, an unknown key, a
missing required field, a value marshmallow would coerce (``"4"`` for an integer) or refuse.
The caller then loads the record with marshmallow, which coerces it or words the refusal in the
user's language. A schema it cannot compile gets no fast loader. ``tests/test_fastload.py``
checks, with generated records, that whatever a fast loader returns, marshmallow returns too.
"""

import math
import re
from datetime import date, time

from marshmallow import fields, missing, validate


class Unsure(Exception):
    """The fast loader does not vouch for this record: load it with marshmallow."""


class _NotCompilable(Exception):
    pass


def compile_loader(schema):
    """A fast ``load`` for ``schema`` (a marshmallow schema instance), or None."""
    try:
        return _schema_loader(schema)
    except _NotCompilable:
        return None


def _schema_loader(schema):
    if any(schema._hooks.values()) or schema.unknown not in ("raise", "exclude") or schema.many:
        raise _NotCompilable
    steps = []
    for name, field in schema.load_fields.items():
        if field.data_key not in (None, name) or field.attribute not in (None, name):
            raise _NotCompilable
        steps.append((name, _field_loader(field), field.required, field.load_default))
    names = frozenset(step[0] for step in steps)
    exclude = schema.unknown == "exclude"  # unknown keys are left aside, as marshmallow does

    def load(data):
        if type(data) is not dict or not (exclude or names.issuperset(data)):
            raise Unsure
        loaded = {}
        for name, step, required, default in steps:
            value = data.get(name, missing)
            if value is not missing:
                loaded[name] = step(value)
            elif required:
                raise Unsure
            elif default is not missing:
                loaded[name] = default() if callable(default) else default
        return loaded

    return load


def _field_loader(field):
    choices, least, most, pattern = None, None, None, None
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            choices = frozenset(validator.choices)
        elif isinstance(validator, validate.Length) and validator.equal is None:
            least, most = validator.min, validator.max
        elif isinstance(validator, validate.Regexp) and pattern is None:
            pattern = validator.regex
        else:
            raise _NotCompilable
    convert = _type_loader(field)
    allow_none = field.allow_none
    if choices is None and least is None and most is None and pattern is None:
        if convert is _STR:  # most fields: a text with no validator

            def text(value):
                if type(value) is str or (value is None and allow_none):
                    return value
                raise Unsure

            return text

        def plain(value):
            if value is None:
                if allow_none:
                    return None
                raise Unsure
            return convert(value)

        return plain

    def step(value):
        """A value given (``missing`` is the caller's)."""
        if value is None:
            if allow_none:
                return None
            raise Unsure
        value = convert(value)
        if choices is not None and value not in choices:
            raise Unsure
        if least is not None and len(value) < least:
            raise Unsure
        if most is not None and len(value) > most:
            raise Unsure
        if pattern is not None and (type(value) is not str or pattern.match(value) is None):
            raise Unsure
        return value

    return step


def _type_loader(field):
    kind = type(field)
    if kind is fields.String:
        return _STR
    if kind is fields.Boolean:
        return _boolean
    if kind is fields.Integer:
        return _exact(int) if field.strict else _integer
    if kind is fields.Float and not field.allow_nan and not field.as_string:
        return _float
    if kind is fields.Raw:  # taken as it is, as marshmallow takes it (the rules check it)
        return _as_it_is
    if kind is fields.Date and field.format in (None, "iso", "iso8601"):
        return _parse(date.fromisoformat)
    if kind is fields.Time and field.format in (None, "iso", "iso8601"):
        return _parse(time.fromisoformat)
    if kind is fields.Nested and not field.many and not field.only and not field.exclude:
        return _schema_loader(field.schema)
    if kind is fields.List:
        inner = _field_loader(field.inner)
        return lambda value: [inner(item) for item in _exact(list)(value)]
    if kind is fields.Dict and field.key_field is not None and field.value_field is not None:
        keys, values = _field_loader(field.key_field), _field_loader(field.value_field)
        return lambda value: {keys(k): values(v) for k, v in _exact(dict)(value).items()}
    raise _NotCompilable


def _exact(kind):
    def convert(value):
        if type(value) is not kind:
            raise Unsure
        return value

    return convert


_STR = _exact(str)


def _integer(value):
    """An int, or a number written in ASCII digits (CSV cells are text), which a non-strict
    marshmallow Integer reads with ``int()`` too; signs, spaces and other digits are left to
    marshmallow."""
    if type(value) is int:
        return value
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    raise Unsure


def _boolean(value):
    if value is True or value is False:
        return value
    raise Unsure


_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _as_it_is(value):
    return value


def _float(value):
    """A finite int or float, or a decimal written plainly in ASCII (CSV cells are text: a
    producer's latitude), which marshmallow reads with ``float()`` too."""
    if type(value) is str and _DECIMAL.fullmatch(value):
        value = float(value)
    if type(value) is int or type(value) is float:
        try:
            value = float(value)
        except OverflowError:
            raise Unsure from None
        if math.isfinite(value):
            return value
    raise Unsure


def _parse(parse):
    def convert(value):
        if type(value) is not str:
            raise Unsure
        try:
            return parse(value)
        except ValueError:
            raise Unsure from None

    return convert


def record_loader(schemas):
    """``load(kind, data)`` for the record schemas ``{kind: schema}``: the fast loader where it
    vouches for the record, marshmallow otherwise (which raises ``ValidationError``)."""
    fast = {kind: compile_loader(schema) for kind, schema in schemas.items()}

    def load(kind, data):
        loader = fast[kind]
        if loader is not None:
            try:
                return loader(data)
            except Unsure:
                pass
        return schemas[kind].load(data)

    return load
