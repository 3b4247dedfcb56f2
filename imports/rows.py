"""Turning one source row into typed values, collecting every problem the row has.

Each reader method returns the value or None, and records a problem `(column, value, message)`
rather than raising, so a row with three mistakes is reported with all three.
"""

import datetime as dt
import functools
import re
from decimal import Decimal, InvalidOperation

from django.db.models import Choices

from accounts.policy import Action, can
from cities.models import City, Country, Network, Organization, Topic
from cities.references import SEPARATOR, CityReferenceError, CityResolver
from cities.text import fold

from .readers import SourceRow, shorten

TRUE = {"true", "yes", "y", "1", "x"}
FALSE = {"false", "no", "n", "0", ""}
_ORGANIZATION_COUNTRY = re.compile(r"^(?P<name>.+?)\s*\[(?P<country>[A-Za-z]{2})\]$")


class ImportContext:
    """What every row of one job shares: the actor, the file's columns and lookups cached for
    the whole run (topics, countries, networks, cities by reference, the actor's permissions)."""

    def __init__(self, *, actor, columns):
        self.actor = actor
        self.columns = set(columns)
        self.resolver = CityResolver()
        self.countries = {country.iso2: country for country in Country.objects.all()}
        self.topics = {topic.slug: topic for topic in Topic.objects.all()}
        self._networks: dict[str, Network] | None = None
        self._organizations: dict[tuple[str, str], list[Organization]] = {}
        self._may_import: dict[int, bool] = {}
        # Field validation answers by field and value (see `CityRecordKind._full_clean`).
        self.cleaned: dict[str, dict] = {}

    def may_import(self, city: City) -> bool:
        if city.pk not in self._may_import:
            self._may_import[city.pk] = can(self.actor, Action.IMPORT, city)
        return self._may_import[city.pk]

    def network(self, text: str) -> Network | None:
        if self._networks is None:
            self._networks = {}
            for network in Network.objects.all():
                for name in (network.slug, network.name, network.acronym):
                    if name:
                        self._networks.setdefault(fold(name), network)
        return self._networks.get(fold(text))

    def organizations(self, name: str, country: str = "") -> list[Organization]:
        key = (name.casefold(), country)
        if key not in self._organizations:
            found = Organization.objects.filter(name__iexact=name)
            if country:
                found = found.filter(country_id=country)
            self._organizations[key] = list(found)
        return self._organizations[key]


class RowReader:
    def __init__(self, source: SourceRow, context: ImportContext):
        self.number = source.number
        self.values = source.values
        self.context = context
        self.problems: list[tuple[str, str, str]] = list(source.problems)
        self._unreadable = source.bad_columns

    def has(self, column: str) -> bool:
        """Whether the file has this column at all: a column left out is a field left alone."""
        return column in self.context.columns

    def raw(self, column: str) -> str:
        return self.values.get(column, "")

    def error(self, column: str, message: str, value: str | None = None) -> None:
        self.problems.append((column, shorten(self.raw(column) if value is None else value), message))

    def text(self, column: str, *, required: bool = False) -> str:
        value = self.raw(column)
        if not value and required and column not in self._unreadable:
            self.error(column, f"“{column}” is required.")
        return value

    def choice(
        self, column: str, choices: type[Choices], *, required: bool = False, default: str | None = None
    ) -> str | None:
        value = self.text(column, required=required)
        if not value:
            return default
        by_name = _choice_names(choices)
        found = by_name.get(value.casefold().replace(" ", "_")) or by_name.get(value.casefold())
        if found is None:
            self.error(
                column,
                f"“{value}” is not a valid {column}: use one of {', '.join(code for code, _ in choices.choices)}.",
            )
        return found

    def date(self, column: str, *, required: bool = False) -> dt.date | None:
        value = self.text(column, required=required)
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value[:10] if "T" in value else value)
        except ValueError:
            self.error(column, f"“{value}” is not a date in ISO 8601 form (YYYY-MM-DD).")
            return None

    def boolean(self, column: str) -> bool | None:
        value = self.raw(column).casefold()
        if value in TRUE:
            return True
        if value in FALSE:
            return False
        self.error(column, f"“{self.raw(column)}” is not true or false.")
        return None

    def integer(self, column: str) -> int | None:
        value = self.text(column).replace(",", "").replace("_", "")
        if not value:
            return None
        try:
            number = int(Decimal(value))
            if number != Decimal(value) or number < 0:
                raise ValueError
        except (InvalidOperation, ValueError):
            self.error(column, f"“{self.raw(column)}” is not a whole number of zero or more.")
            return None
        return number

    def decimal(self, column: str, *, low: int, high: int) -> Decimal | None:
        value = self.text(column)
        if not value:
            return None
        try:
            number = Decimal(value).quantize(Decimal("0.000001"))
        except InvalidOperation:
            self.error(column, f"“{value}” is not a number.")
            return None
        if not low <= number <= high:
            self.error(column, f"{value} is outside {low}..{high}.")
            return None
        return number

    def country(self, column: str, *, required: bool = False) -> Country | None:
        # "NA" is Namibia: the value is only ever looked up, never taken for a missing one.
        value = self.text(column, required=required).upper()
        if not value:
            return None
        country = self.context.countries.get(value)
        if country is None:
            self.error(column, f"“{self.raw(column)}” is not an ISO 3166-1 alpha-2 country code (e.g. DE, JP, NA).")
        return country

    def countries(self, column: str) -> list[Country]:
        found = []
        for part in _parts(self.raw(column)):
            country = self.context.countries.get(part.upper())
            if country is None:
                self.error(column, f"“{part}” is not an ISO 3166-1 alpha-2 country code.", value=part)
            elif country not in found:
                found.append(country)
        return found

    def city(self, column: str, *, required: bool = False) -> City | None:
        value = self.text(column, required=required)
        if not value:
            return None
        try:
            return self.context.resolver.resolve(value)
        except CityReferenceError as error:
            self.error(column, str(error))
            return None

    def cities(self, column: str) -> list[City]:
        found: list[City] = []
        for part in _parts(self.raw(column)):
            try:
                city = self.context.resolver.resolve(part)
            except CityReferenceError as error:
                self.error(column, str(error), value=part)
                continue
            if city not in found:
                found.append(city)
        return found

    def topics(self, column: str) -> list[Topic]:
        found, unknown = [], []
        for part in _parts(self.raw(column)):
            topic = self.context.topics.get(part.casefold())
            if topic is None:
                unknown.append(part)
            elif topic not in found:
                found.append(topic)
        if unknown:
            self.error(
                column,
                f"Unknown topic(s): {', '.join(unknown)}. Topics are slugs such as "
                f"{', '.join(sorted(self.context.topics)[:5])}.",
            )
        return found

    def organizations(self, column: str) -> list[Organization]:
        """Organisations by name, `Name [CC]` when one name exists in several countries."""
        found: list[Organization] = []
        for part in _parts(self.raw(column)):
            match = _ORGANIZATION_COUNTRY.match(part)
            name, country = (match["name"], match["country"].upper()) if match else (part, "")
            candidates = self.context.organizations(name, country)
            if not candidates:
                self.error(
                    column, f"No organisation is named “{part}”: import it first (kind organizations).", value=part
                )
            elif len(candidates) > 1:
                places = ", ".join(f"{name} [{org.country_id or '?'}]" for org in candidates)
                self.error(column, f"“{part}” names several organisations; write one of: {places}.", value=part)
            elif candidates[0] not in found:
                found.append(candidates[0])
        return found

    def home_city(self, column: str = "city") -> City | None:
        city = self.city(column, required=True)
        if city is not None and not self.context.may_import(city):
            self.error(column, f"You may import records only for your home cities; {city.label} is not one of them.")
            return None
        return city


@functools.cache
def _choice_names(choices: type[Choices]) -> dict[str, str]:
    """Codes and labels, case folded, to codes: built once per choice set, not once per cell."""
    by_name = {}
    for code, label in choices.choices:
        by_name[code.casefold()] = code
        by_name[str(label).casefold()] = code
    return by_name


def _parts(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(SEPARATOR) if part.strip()]
