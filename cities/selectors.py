"""Reads of reference records that writers in several apps share."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError

from .models import City, Country, Organization, Topic


def resolve_relations(
    *,
    counterpart_cities: Iterable[int] = (),
    counterpart_organizations: Iterable[int] = (),
    named_countries: Iterable[str] = (),
    topics: Iterable[str] = (),
) -> dict[str, list]:
    """Turn ids, iso2 codes and topic slugs into instances, saying which ones do not exist."""
    wanted = {
        "counterpart_cities": (City, "pk", list(counterpart_cities)),
        "counterpart_organizations": (Organization, "pk", list(counterpart_organizations)),
        "named_countries": (Country, "iso2", list(named_countries)),
        "topics": (Topic, "slug", list(topics)),
    }
    result, errors = {}, {}
    for name, (model, key, values) in wanted.items():
        found = {getattr(obj, key): obj for obj in model.objects.filter(**{f"{key}__in": values})}
        missing = [value for value in values if value not in found]
        if missing:
            errors[name] = [f"Unknown: {', '.join(map(str, missing))}."]
        result[name] = [found[value] for value in values if value in found]
    if errors:
        raise ValidationError(errors)
    return result
