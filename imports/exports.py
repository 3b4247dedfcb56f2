"""Records in the import format (SPEC §6 columns, references people can read), so a file can be
downloaded, edited in a spreadsheet and imported back: exporting and re-importing changes nothing."""

from collections.abc import Iterator

from django.db.models import Case, F, Prefetch, Value, When
from django.db.models.functions import Collate, Concat

from accounts.policy import home_city_ids, is_admin
from cities.models import City
from cities.references import CityReferenceError, CityResolver
from engagements.models import Agreement, Engagement
from utilities.csv import CopyRows, Guarded, Joined, MappedCell, bool_cell, date_cell, text_cell

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


# --- Written by PostgreSQL (COPY) ----------------------------------------------------------
# The same file as `export_rows`, cell for cell (a test holds them equal): each city reference
# said once per city in Python (the resolver decides whether its label names it again) and looked
# up by the database in each row; every other cell in SQL.
DATES = {"start_date", "end_date", "signed_on", "effective_on", "expires_on", "renewal_due_on"}


def copy_rows(records, kind: str) -> CopyRows:
    """`exportable(...)`'s records of `kind` as the rows PostgreSQL writes, in KINDS[kind].columns."""
    model = MODELS[kind]

    def cells():
        # Resolving every city named takes a while (a query or two each): once the header is out.
        references = _city_references(records, model)
        return [_cell(model, column, references) for column in KINDS[kind].columns]

    return CopyRows(records.prefetch_related(None).select_related(None), cells)


def _city_references(records, model) -> dict[int, str]:
    """Each city the records name (owner, location, counterparts) and its reference."""
    ids = records.order_by().values("pk")
    wanted = set(records.order_by().values_list("city_id", flat=True).distinct())
    if model is Engagement:
        wanted |= set(
            records.order_by().exclude(location_city=None).values_list("location_city_id", flat=True).distinct()
        )
    through = model.counterpart_cities.through
    source = model._meta.get_field("counterpart_cities").m2m_field_name()
    wanted |= set(through.objects.filter(**{f"{source}_id__in": ids}).values_list("city_id", flat=True).distinct())
    resolver = _References()
    return {city.pk: resolver.city(city) for city in City.objects.filter(pk__in=sorted(wanted)).order_by("pk")}


def _cell(model, column: str, references: dict[int, str]):
    if column in ("city", "location_city"):
        return Guarded(MappedCell(F(f"{column}_id"), references))
    if column in DATES:
        return date_cell(F(column))
    if column == "federal_coordination_requested":
        return bool_cell(column)
    if column == "counterpart_cities":
        return _joined(model, column, MappedCell(F("city_id"), references), [F("city_id").asc()])
    if column == "counterpart_organizations":
        name = F("organization__name")
        value = Case(
            When(
                organization__country_id__isnull=False,
                then=Concat(name, Value(" ["), F("organization__country_id"), Value("]")),
            ),
            default=name,
        )
        return _joined(model, column, value, [name.asc(), F("organization_id").asc()])
    if column == "topics":
        # Python's `sorted`: by code point, whatever the database's collation.
        return _joined(model, column, F("topic__slug"), [Collate(F("topic__slug"), "C").asc()], delimiter=";")
    if column == "counterpart_countries":
        return _joined(model, column, F("country_id"), [Collate(F("country_id"), "C").asc()], delimiter=";")
    return Guarded(text_cell(F(column)))


def _joined(model, name: str, value, order_by, delimiter: str = "; ") -> Joined:
    field = model._meta.get_field(name)
    return Joined(field.remote_field.through.objects.all(), f"{field.m2m_field_name()}_id", value, order_by, delimiter)
