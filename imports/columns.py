"""The upload page's help: every column of every kind of import, whether it is required and what
it takes. Columns with a fixed set of values list the very choices the importer checks them
against (`Kind.choices`), and topics the slugs in the database, so the help cannot drift from
what an import accepts; every other column is described once below, and a column without a
description fails the tests."""

from dataclasses import dataclass

from cities.references import SEPARATOR

from .kinds import KINDS, Kind
from .models import ImportJob
from .rows import FALSE, TRUE

DATE = "a date, YYYY-MM-DD"
CITY = "a city: its GeoNames id, “Name, CC” or “Name, CC-SUB” (e.g. “Portland, US-OR”)"
HOME_CITY = "one of your home cities: its GeoNames id, “Name, CC” or “Name, CC-SUB”"
TEXT = "text"
SEVERAL = f"; several separated by “{SEPARATOR}”"

# What each column takes, by column name (the same name means the same thing in every kind),
# then by kind and column where a kind reads it differently.
FORMATS = {
    "name": TEXT,
    "title": TEXT,
    "summary": TEXT,
    "outcomes": TEXT,
    "venue": TEXT,
    "notes": TEXT,
    "authorized_by": "text, e.g. a council resolution number",
    "external_id": "your own id for the record, unique within its city",
    "country": "an ISO 3166-1 alpha-2 country code, e.g. DE, JP, NA",
    "counterpart_countries": "ISO 3166-1 alpha-2 country codes named directly" + SEVERAL,
    "subdivision": "an ISO 3166-2 code, e.g. US-CA",
    "population": "a whole number",
    "geonames_id": "a whole number (the city's GeoNames id)",
    "latitude": "a number from -90 to 90",
    "longitude": "a number from -180 to 180",
    "timezone": "an IANA time zone, e.g. America/Chicago",
    "website": "a web address, https://…",
    "url": "a web address, https://…",
    "network": "a network's slug, name or acronym",
    "city": HOME_CITY,
    "location_city": CITY,
    "counterpart_cities": "cities, each a GeoNames id, “Name, CC” or “Name, CC-SUB”" + SEVERAL,
    "counterpart_organizations": "organisation names, “Name [CC]” when a name exists in several countries" + SEVERAL,
    "federal_coordination_requested": f"true or false (also {', '.join(sorted(TRUE - {'true'}))} / "
    f"{', '.join(sorted(FALSE - {'false', ''}))}); empty is false",
    **dict.fromkeys(
        ("joined_on", "left_on", "signed_on", "effective_on", "expires_on", "renewal_due_on", "start_date", "end_date"),
        DATE,
    ),
}
BY_KIND = {
    ("organizations", "city"): CITY + " (optional: the organisation's seat)",
}


@dataclass(frozen=True)
class ColumnHelp:
    name: str
    required: bool
    takes: str  # what the column takes, in words
    values: tuple[str, ...] = ()  # the allowed values, when they are a fixed set


def column_help(kind: Kind, topic_slugs: list[str]) -> list[ColumnHelp]:
    """The columns of `kind` in file order, each with what it takes."""
    columns = []
    for name in kind.columns:
        required = name in kind.required
        if name in kind.choices:
            values = tuple(value for value, _label in kind.choices[name].choices)
            columns.append(ColumnHelp(name, required, "one of", values))
        elif name == "topics":
            columns.append(ColumnHelp(name, required, "topic slugs" + SEVERAL + ", among", tuple(topic_slugs)))
        else:
            columns.append(ColumnHelp(name, required, BY_KIND.get((kind.name, name)) or FORMATS[name]))
    return columns


def kinds_help(topic_slugs: list[str]) -> list[dict]:
    """Every kind with its columns, for the upload page."""
    return [
        {
            "name": kind.name,
            "label": ImportJob.Kind(kind.name).label,
            "identity": kind.identity,
            "columns": column_help(kind, topic_slugs),
        }
        for kind in KINDS.values()
    ]
