"""marshmallow schemas of the registry's seed file."""

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from hub.registry.regions import SUBREGION_CONTINENT, is_known_territory


class SourceSchema(Schema):
    class Meta:
        unknown = RAISE

    title = fields.Str(required=True, validate=validate.Length(min=1, max=500))
    publisher = fields.Str(load_default=None, allow_none=True)
    url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})
    year = fields.Int(load_default=None, allow_none=True, validate=validate.Range(1900, 2100))


class SeedProgrammeSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    local_name = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))
    acronym = fields.Str(required=True, validate=validate.Length(min=2, max=16))
    start_year = fields.Int(load_default=None, allow_none=True, validate=validate.Range(1950, 2100))
    lead_agency = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=300))
    website = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})
    rating_scheme = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(max=200)
    )
    verified = fields.Bool(required=True)
    sources = fields.List(fields.Str(), required=True, validate=validate.Length(min=1))
    note = fields.Str(load_default="")


class SeedCountrySchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.Str(required=True, validate=is_known_territory)
    region = fields.Str(required=True, validate=validate.OneOf(sorted(SUBREGION_CONTINENT)))
    founding_member = fields.Bool(required=True)
    founding_member_verified = fields.Bool(required=True)
    verified = fields.Bool(required=True)
    sources = fields.List(fields.Str(), required=True, validate=validate.Length(min=1))
    note = fields.Str(load_default="")
    programmes = fields.List(
        fields.Nested(SeedProgrammeSchema), required=True, validate=validate.Length(min=1)
    )


class NetworkSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.Str(required=True)
    launched_on = fields.Date(required=True)
    launch_event = fields.Str(required=True)
    founding_members_verified = fields.Bool(required=True)
    note = fields.Str(load_default="")
    sources = fields.List(fields.Str(), load_default=list)


class SeedSchema(Schema):
    """The registry seed file (``hub/registry/seed/countries.json``)."""

    class Meta:
        unknown = RAISE

    network = fields.Nested(NetworkSchema, required=True)
    sources = fields.Dict(keys=fields.Str(), values=fields.Nested(SourceSchema), required=True)
    countries = fields.List(fields.Nested(SeedCountrySchema), required=True)

    @validates_schema
    def _references(self, data, **_kwargs):
        known = set(data["sources"])
        codes = [c["code"] for c in data["countries"]]
        if len(codes) != len(set(codes)):
            raise ValidationError("a country appears twice", "countries")
        cited = set(data["network"]["sources"])
        for country in data["countries"]:
            names = [p["name"] for p in country["programmes"]]
            if len(names) != len(set(names)):
                # Programmes are matched by name when seeding again: a repeated name would be lost.
                raise ValidationError(
                    f"{country['code']} has two programmes of one name", "countries"
                )
            cited.update(country["sources"])
            for programme in country["programmes"]:
                cited.update(programme["sources"])
        if missing := sorted(cited - known):
            raise ValidationError(f"undefined sources: {', '.join(missing)}", "sources")
