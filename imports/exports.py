"""Records in the import format (SPEC §6 columns, references people can read), so a file can be
downloaded, edited in a spreadsheet and imported back: exporting and re-importing changes nothing."""

from collections.abc import Iterator

from django.db.models import Prefetch

from accounts.policy import home_city_ids, is_admin
from cities.models import City
from cities.references import CityReferenceError, CityResolver
from engagements.models import Agreement, Engagement

from .kinds import KINDS

MODELS = {"agreements": Agreement, "engagements": Engagement}


class _References:
    """`Name, CC-SUB` when that names the city again, otherwise its GeoNames id."""

    def __init__(self):
        self.resolver = CityResolver()

    def city(self, city: City | None) -> str:
        if city is None:
            return ""
        try:
            if self.resolver.resolve(city.label).pk == city.pk:
                return city.label
        except CityReferenceError:
            pass
        return str(city.geonames_id) if city.geonames_id else city.label


def exportable(user, kind: str):
    """The records of `kind` that `user` may import back: their home cities' (an admin's: all)."""
    model = MODELS[kind]
    records = model.objects.visible_to(user)
    if not is_admin(user):
        records = records.filter(city_id__in=sorted(home_city_ids(user)))
    related = ["city", "location_city"] if model is Engagement else ["city"]
    return (
        records.select_related(*related)
        .prefetch_related(
            Prefetch("counterpart_cities", queryset=City.objects.order_by("pk")),
            "counterpart_organizations",
            "topics",
            "counterpart_countries",
        )
        .order_by("pk")
    )


def export_rows(records, kind: str) -> Iterator[list[str]]:
    columns = KINDS[kind].columns
    references = _References()
    yield columns
    for record in records.iterator(chunk_size=500):
        values = {
            "external_id": record.external_id or "",
            "city": references.city(record.city),
            "counterpart_cities": "; ".join(references.city(city) for city in record.counterpart_cities.all()),
            "counterpart_organizations": "; ".join(
                f"{org.name} [{org.country_id}]" if org.country_id else org.name
                for org in record.counterpart_organizations.all()
            ),
            "topics": ";".join(sorted(topic.slug for topic in record.topics.all())),
            "counterpart_countries": ";".join(sorted(c.iso2 for c in record.counterpart_countries.all())),
        }
        if kind == "engagements":
            values["location_city"] = references.city(record.location_city)
            values["federal_coordination_requested"] = "true" if record.federal_coordination_requested else "false"
        for column in columns:
            if column not in values:
                value = getattr(record, column)
                values[column] = (
                    "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
                )
        yield [values[column] for column in columns]
