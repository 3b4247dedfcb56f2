"""The floor the API is compared with: the same 50 engagements, in the same order, read by one raw
SQL query and dumped as JSON, with no authentication, no serializer and no count."""

import json

from django.db import connection
from django.http import HttpResponse

PAGE_SIZE = 50
COLUMNS = (
    "e.id, e.title, e.kind, e.status, e.city_id, c.name, e.start_date::text, e.end_date::text, e.visibility, "
    "e.location_city_id, e.venue, e.summary, e.external_id, e.federal_coordination_requested, e.review_status, "
    "e.version, e.created_at::text, e.updated_at::text"
)
NAMES = [
    "id",
    "title",
    "kind",
    "status",
    "city",
    "city_name",
    "start_date",
    "end_date",
    "visibility",
    "location_city",
    "venue",
    "summary",
    "external_id",
    "federal_coordination_requested",
    "review_status",
    "version",
    "created_at",
    "updated_at",
]


def bare_engagements(request):
    """`?page=`, `?counterpart_country=` and `?topic=` (a slug) as the API reads them."""
    conditions, params = [], []
    # The arrays each engagement carries (engagements/migrations/0004), through their GIN
    # indexes: the fastest the database answers these filters, as the API does.
    if country := request.GET.get("counterpart_country"):
        conditions.append("e.counterpart_country_codes @> %s::text[]")
        params.append([country.upper()])
    if topic := request.GET.get("topic"):
        conditions.append("e.topic_slugs && %s::text[]")
        params.append([topic])
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    offset = (int(request.GET.get("page", "1")) - 1) * PAGE_SIZE
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {COLUMNS} FROM engagements_engagement e JOIN cities_city c ON c.id = e.city_id "  # noqa: S608 - fixed fragments
            f"{where} ORDER BY e.start_date DESC, e.id DESC LIMIT {PAGE_SIZE} OFFSET %s",
            [*params, offset],
        )
        rows = [dict(zip(NAMES, row, strict=True)) for row in cursor.fetchall()]
    return HttpResponse(json.dumps({"results": rows}), content_type="application/json")
