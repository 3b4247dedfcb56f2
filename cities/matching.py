"""The one city matcher (SPEC §8.1): the type-ahead, the cities API's `q` and import references
all find cities here.

Every way of writing a city (its name, ASCII name and GeoNames' alternate names in any script)
is kept in `CityName` as keys: folded (case and accents ignored, `ł` as `l`; a name in a script
with no Latin form keeps its own letters), punctuation read as a space, and one key from each
word start to the end of the name, so `Santiago de Querétaro` is found by `quer`, `de q` and
`santiago`. A name with `ä`, `ö` or `ü` is also kept as German writes it without them
(`München` -> `muenchen`).

- `suggest(text)`: the type-ahead, cities with a key starting with `text`, largest first;
- `matching_ids(text)`: the same as a subquery, for querysets (the API's `q`);
- `named(text, scope)`: references, a whole name equal to `text`: the city's name or ASCII name,
  or when none is, an alternate name (SPEC §6).

`index_cities` writes the keys of cities; every writer of a city's names calls it
(`reference_data.load_cities`, `services.save_city`, `seed_scale`, the test factories).
"""

import re
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Max, Q

from utilities.sqlbulk import insert_values

from .models import City, CityName
from .text import fold

SEPARATORS = re.compile(r"[\W_]+")
GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
MAX_KEY = CityName._meta.get_field("key").max_length
# The type-ahead reads this many of the most populous matching keys and keeps distinct cities;
# only when they hold too few cities (a city with many keys of that prefix) does it group them all.
SCAN = 200
ALTERNATE_SEPARATOR = "|"


def name_key(text: str) -> str:
    """What a name is compared by: folded, punctuation as single spaces (`Saint-Étienne` ->
    `saint etienne`, `北京` -> `北京`)."""
    return SEPARATORS.sub(" ", fold(text)).strip()[:MAX_KEY]


def name_forms(name: str) -> set[str]:
    """The whole-name keys of one way of writing a city (`München` -> munchen, muenchen)."""
    forms = {name_key(name)}
    if name.translate(GERMAN) != name:
        forms.add(name_key(name.translate(GERMAN)))
    forms.discard("")
    return forms


def word_keys(whole: str) -> list[str]:
    """`santiago de queretaro` -> itself, `de queretaro`, `queretaro`."""
    words = whole.split(" ")
    return [" ".join(words[start:]) for start in range(len(words))]


def alternates_of(city: City) -> list[str]:
    return [name for name in (city.alternate_names or "").split(ALTERNATE_SEPARATOR) if name.strip()]


def keys_of(city: City) -> dict[tuple[str, bool], bool]:
    """{(key, whole): primary} for one city: primary when the key comes from its name or ASCII name."""
    keys: dict[tuple[str, bool], bool] = {}
    for names, primary in (([city.name, city.ascii_name], True), (alternates_of(city), False)):
        for name in names:
            for whole in name_forms(name or ""):
                for position, key in enumerate(word_keys(whole)):
                    slot = (key, position == 0)
                    keys[slot] = keys.get(slot, False) or primary
    return keys


def index_cities(cities: Iterable[City], *, fresh: bool = False) -> int:
    """(Re)write the keys of `cities` (saved, with ids). `fresh`: they have none yet, skip the
    delete. Returns how many keys were written."""
    cities = [city for city in cities if city.pk is not None]
    if not cities:
        return 0
    rows = []
    for city in cities:
        population = city.population or 0
        rows.extend((city.pk, key, whole, primary, population) for (key, whole), primary in keys_of(city).items())
    with transaction.atomic():
        if not fresh:
            ids = [city.pk for city in cities]
            for start in range(0, len(ids), 10_000):
                CityName.objects.filter(city_id__in=ids[start : start + 10_000]).delete()
        for start in range(0, len(rows), 50_000):
            insert_values(
                CityName,
                ["city_id", "key", "whole", "primary", "population"],
                rows[start : start + 50_000],
                returning=False,
            )
    return len(rows)


def _starting_with(key: str) -> Q:
    if connection.vendor == "postgresql":
        # LIKE 'key%' on the varchar_pattern_ops index (Django escapes % and _ in `key`).
        return Q(key__startswith=key)
    # SQLite's LIKE ignores its index here; a range over the binary-ordered index does not.
    return Q(key__gte=key, key__lt=key + "\U0010ffff")


def matching_ids(text: str):
    """The ids of cities with a key starting with `text`, as a subquery (empty text: none)."""
    key = name_key(text)
    if not key:
        return CityName.objects.none().values("city_id")
    return CityName.objects.filter(_starting_with(key)).values("city_id")


def suggest_ids(text: str, limit: int) -> list[int]:
    """The ids of the `limit` most populous cities with a key starting with `text`."""
    key = name_key(text)
    if not key or limit <= 0:
        return []
    names = CityName.objects.filter(_starting_with(key))
    # The most populous keys first (an index scan by population for a common prefix, the key
    # index for a rare one: the planner chooses), distinct cities kept in order.
    rows = list(names.order_by("-population", "city_id").values_list("city_id", flat=True)[:SCAN])
    ids = list(dict.fromkeys(rows))
    if len(ids) >= limit or len(rows) < SCAN:
        return ids[:limit]
    grouped = names.values("city_id").annotate(top=Max("population")).order_by("-top", "city_id")
    return [row["city_id"] for row in grouped[:limit]]


def suggest(text: str, limit: int, queryset=None) -> list[City]:
    """The type-ahead: cities with a word of a name starting with `text`, largest first (2 queries)."""
    ids = suggest_ids(text, limit)
    if not ids:
        return []
    queryset = City.objects.all() if queryset is None else queryset
    found = {city.pk: city for city in queryset.filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


def named(text: str, scope) -> list[City]:
    """The cities of `scope` whose whole name is `text`: name or ASCII name first, and only when
    none is, an alternate name (SPEC §6 references)."""
    key = name_key(text)
    if not key:
        return []
    whole = CityName.objects.filter(key=key, whole=True)
    found = list(scope.filter(pk__in=whole.filter(primary=True).values("city_id")))
    if not found:
        found = list(scope.filter(pk__in=whole.values("city_id")))
    return found


def is_named(city: City, text: str) -> bool:
    """Whether `text` is `city`'s name or ASCII name (in memory: no query)."""
    key = name_key(text)
    return bool(key) and any(key in name_forms(name or "") for name in (city.name, city.ascii_name))
