"""City references as people write them in files and on the command line (SPEC §6).

A reference is a GeoNames id (`5368361`), `Name, CC` (`Berlin, DE`) or `Name, CC-SUB`
(`Los Angeles, US-CA`). A name matches a city's name or ASCII name, ignoring case and accents,
or, when none does, one of its alternate names (`cities.matching.named`, the one matcher). Among several matches the most populous wins
when it has at least ten times the population of the next; otherwise the reference is ambiguous.
"""

import re
from dataclasses import dataclass

from .matching import named
from .models import City

SEPARATOR = ";"
DOMINANCE = 10
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_SUBDIVISION = re.compile(r"^([A-Za-z]{2})-([A-Za-z0-9]{1,3})$")


class CityReferenceError(ValueError):
    """A reference that names no city, or several."""


class UnknownCity(CityReferenceError):
    pass


class AmbiguousCity(CityReferenceError):
    def __init__(self, message: str, candidates: list[City]):
        super().__init__(message)
        self.candidates = candidates


@dataclass(frozen=True)
class ParsedReference:
    geonames_id: int | None = None
    name: str = ""
    country: str = ""
    subdivision: str = ""


def parse(reference: str) -> ParsedReference:
    text = " ".join((reference or "").split())
    if not text:
        raise UnknownCity("The city reference is empty.")
    if text.isdigit():
        return ParsedReference(geonames_id=int(text))
    name, comma, place = text.rpartition(",")
    place = place.strip()
    if not comma or not name.strip():
        raise UnknownCity(f"“{text}” is not a city reference: write a GeoNames id, “Name, CC” or “Name, CC-SUB”.")
    if match := _SUBDIVISION.match(place):
        return ParsedReference(name=name.strip(), country=match[1].upper(), subdivision=place.upper())
    if _COUNTRY.match(place):
        return ParsedReference(name=name.strip(), country=place.upper())
    raise UnknownCity(f"“{place}” in “{text}” is not a country code (e.g. DE) or a subdivision (e.g. US-CA).")


def describe(city: City) -> str:
    return f"{city.name}, {city.subdivision or city.country_id} (GeoNames {city.geonames_id or 'n/a'})"


def choose(reference: str, matches: list[City]) -> City:
    """The city a reference means among `matches`, by the population rule."""
    if not matches:
        raise UnknownCity(f"No city matches “{reference}”.")
    ranked = sorted(matches, key=lambda city: city.population or 0, reverse=True)
    if len(ranked) == 1 or (ranked[0].population or 0) >= DOMINANCE * (ranked[1].population or 0):
        return ranked[0]
    names = "; ".join(describe(city) for city in ranked[:10])
    raise AmbiguousCity(f"“{reference}” is ambiguous: it could be {names}.", ranked)


class CityResolver:
    """Resolves references, remembering answers so a file naming a city a thousand times asks
    the database once."""

    def __init__(self, queryset=None):
        self.queryset = queryset if queryset is not None else City.objects.all()
        self._cache: dict[str, City | CityReferenceError] = {}

    def resolve(self, reference: str) -> City:
        key = " ".join((reference or "").split()).casefold()
        if key not in self._cache:
            try:
                self._cache[key] = self._lookup(reference)
            except CityReferenceError as error:
                self._cache[key] = error
        found = self._cache[key]
        if isinstance(found, CityReferenceError):
            raise found
        return found

    def resolve_many(self, references: str) -> list[City]:
        """`"Nagoya, JP; Berlin, DE"` -> two cities; raises on the first bad one."""
        parts = [part.strip() for part in (references or "").split(SEPARATOR)]
        cities, seen = [], set()
        for part in parts:
            if part:
                city = self.resolve(part)
                if city.pk not in seen:
                    seen.add(city.pk)
                    cities.append(city)
        return cities

    def _lookup(self, reference: str) -> City:
        parsed = parse(reference)
        if parsed.geonames_id is not None:
            city = self.queryset.filter(geonames_id=parsed.geonames_id).first()
            if city is None:
                raise UnknownCity(f"No city has GeoNames id {parsed.geonames_id}.")
            return city
        scope = self.queryset.filter(country_id=parsed.country)
        if parsed.subdivision:
            scope = scope.filter(subdivision=parsed.subdivision)
        return choose(reference.strip(), named(parsed.name, scope))


def resolve_city(reference: str) -> City:
    return CityResolver().resolve(reference)
