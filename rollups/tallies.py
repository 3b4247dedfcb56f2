"""Engagement counts by one dimension read from the tallies instead of counted row by row.

`Scope.of(queryset)` reads which engagements a queryset selects from its WHERE clause: the access
policy (`visible_q`) and the filters built from the columns the tallies have a dimension for
(owning city, its state, visibility; kind, review status and month-aligned start dates for the
dimension they key). Anything else, a search, a topic filter, a subquery, is `None`, and the
caller counts rows as before. So the stats API, the dashboards and the review queue need not say
who asks or with which filters: the queryset they already count says it, and the answer is the
same either way.

Per visibility the condition either holds everywhere (read the national tier, a few hundred rows
at most), nowhere, or for some cities (read the city tier for those cities): a staff user sees
public and internal records nationwide and restricted ones of their home cities.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q, Sum
from django.db.models.expressions import Col
from django.db.models.sql.datastructures import BaseTable, Join
from django.db.models.sql.where import AND, OR, WhereNode

from cities.models import City
from engagements.models import Engagement
from utilities.dates import month_start

from .models import CityEngagementTally, EngagementCount, EngagementTally

VISIBILITIES = ("public", "internal", "restricted")
# Columns that select cities and visibilities, and the field each is on the city tier.
SCOPE_COLUMNS = {"visibility": None, "city": "city_id", "subdivision": "city__subdivision"}
# Columns whose values are keys of one dimension.
KEY_COLUMNS = {"kind": "kind", "review_status": "review_status", "start_date": "month"}
CHOICES = {"kind": Engagement.Kind.values, "review_status": Engagement.ReviewStatus.values}
DIMENSION_COLUMNS = {"month": "start_date", "kind": "kind", "review_status": "review_status"}
# Where a dimension's keys get their readable names: (table, its column equal to the key, the
# columns answered as key and label).
LABELS = {
    "topic": ("cities_topic", "id::text", ("slug", "name")),
    "country": ("cities_country", "iso2", ("iso2", "name")),
}


class Unsupported(Exception):
    """The queryset selects engagements in a way the tallies cannot count."""


def available() -> bool:
    """The triggers that keep the tallies exact exist on PostgreSQL only."""
    return connection.vendor == "postgresql"


def _column(query, lhs) -> str:
    if not isinstance(lhs, Col):
        raise Unsupported
    field, table = lhs.target, query.alias_map.get(lhs.alias)
    if (
        field.model is Engagement
        and isinstance(table, BaseTable)
        and (field.name in SCOPE_COLUMNS or field.name in KEY_COLUMNS)
    ):
        return field.name
    if (
        field.model is City
        and field.name == "subdivision"
        and isinstance(table, Join)
        and table.join_field is Engagement._meta.get_field("city")
        and isinstance(query.alias_map.get(table.parent_alias), BaseTable)
    ):
        return "subdivision"
    raise Unsupported


def _node(query, node):
    """`("leaf", column, lookup, value)`, `("and" | "or", [nodes])` or `("not", node)`."""
    if isinstance(node, WhereNode):
        if node.connector not in (AND, OR):
            raise Unsupported
        parsed = ("and" if node.connector == AND else "or", [_node(query, child) for child in node.children])
        return ("not", parsed) if node.negated else parsed
    lookup_name = getattr(node, "lookup_name", None)
    if lookup_name is None or hasattr(node.rhs, "resolve_expression"):
        raise Unsupported
    column = _column(query, node.lhs)
    value = node.rhs
    if column == "start_date":
        if lookup_name not in ("gte", "gt", "lte", "lt") or type(value) is not dt.date:
            raise Unsupported
    elif lookup_name == "in":
        value = tuple(value)
    elif lookup_name != "exact":
        raise Unsupported
    return ("leaf", column, lookup_name, value)


def _columns(node) -> set[str]:
    if node[0] == "leaf":
        return {node[1]}
    if node[0] == "not":
        return _columns(node[1])
    return set().union(*(_columns(child) for child in node[1]))


def _test(lookup: str, wanted, value) -> bool:
    if lookup == "exact":
        return value == wanted
    if lookup == "in":
        return value in wanted
    return {"gte": value >= wanted, "gt": value > wanted, "lte": value <= wanted, "lt": value < wanted}[lookup]


def _bind(node, column: str, value):
    """`node` with the leaves on `column` decided for `value`: True, False or what is left."""
    if node[0] == "leaf":
        return _test(node[2], node[3], value) if node[1] == column else node
    if node[0] == "not":
        inner = _bind(node[1], column, value)
        return (not inner) if isinstance(inner, bool) else ("not", inner)
    children = [_bind(child, column, value) for child in node[1]]
    decisive, neutral = (False, True) if node[0] == "and" else (True, False)
    if decisive in children:
        return decisive
    rest = [child for child in children if child is not neutral]
    return ("and" if node[0] == "and" else "or", rest) if rest else neutral


def _q(node) -> Q:
    """The city-tier filter for a condition on cities."""
    if node[0] == "leaf":
        return Q(**{f"{SCOPE_COLUMNS[node[1]]}__{node[2]}": node[3]})
    if node[0] == "not":
        return ~_q(node[1])
    parts = [_q(child) for child in node[1]]
    return reduce(lambda a, b: (a & b) if node[0] == "and" else (a | b), parts)


def _last_day(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


class Scope:
    """The engagements a queryset selects, as the tallies see them: per visibility, all cities
    (`True`) or a filter on cities (`Q`), and conditions on the columns that key a dimension."""

    def __init__(self, parts: dict[str, object], keys: dict[str, tuple]):
        self.parts = parts
        self.keys = keys

    @classmethod
    def of(cls, queryset) -> "Scope | None":
        if not available() or queryset.model is not Engagement:
            return None
        query = queryset.query
        if (
            query.is_sliced
            or query.distinct
            or query.annotations
            or query.extra
            or query.combinator
            or query.group_by is not None
            or query.is_empty()
        ):
            return None
        try:
            root = _node(query, query.where)
        except Unsupported:
            return None
        children = root[1] if root[0] == "and" else [root]
        scope, keys = [], {}
        for child in children:
            columns = _columns(child)
            if columns <= set(SCOPE_COLUMNS):
                scope.append(child)
            elif len(columns) == 1 and (column := next(iter(columns))) in KEY_COLUMNS:
                keys.setdefault(column, []).append(child)
            else:
                return None
        if "start_date" in keys and not all(_month_aligned(node) for node in keys["start_date"]):
            return None
        condition = ("and", scope)
        parts = {}
        for visibility in VISIBILITIES:
            bound = _bind(condition, "visibility", visibility)
            if bound is not False:
                parts[visibility] = True if bound is True else _q(bound)
        return cls(parts, {column: ("and", nodes) for column, nodes in keys.items()})

    def _city_q(self) -> Q | None:
        """The city-tier rows of every visibility in scope, or None when there are none."""
        parts = [Q(visibility=v) if where is True else Q(visibility=v) & where for v, where in self.parts.items()]
        return reduce(or_, parts) if parts else None

    def _keys_in(self, column: str) -> list[str] | None:
        """The keys of `column` the conditions on it allow (None: no condition)."""
        if column not in self.keys:
            return None
        return [value for value in CHOICES[column] if _bind(self.keys[column], column, value) is True]

    def _month_allowed(self, key: str) -> bool:
        if "start_date" not in self.keys:
            return True
        # Month-aligned bounds hold for every day of a month or for none: its first day decides.
        return _bind(self.keys["start_date"], "start_date", _month_start(key)) is True

    def counts(self, dimension: str) -> "Pending | None":
        """`{key: count}` of one tallied dimension (keys as stored: topic ids, iso2 codes,
        `YYYY-MM`, ...), zero counts left out; None when a condition keys another dimension."""
        return self._sums(dimension, None, dict)

    def labelled(self, dimension: str) -> "Pending | None":
        """`[(key, label, count)]` of topics (slug, name) or counterpart countries (iso2, name)."""
        return self._sums(dimension, LABELS[dimension], list)

    def _sums(self, dimension: str, label, finish) -> "Pending | None":
        column = DIMENSION_COLUMNS.get(dimension)
        if set(self.keys) - {column}:
            return None
        allowed = self._keys_in(column) if column in CHOICES else None
        national = [v for v, where in self.parts.items() if where is True]
        cities = [Q(visibility=v) & where for v, where in self.parts.items() if where is not True]
        selects = []
        if national:
            selects.append(EngagementTally.objects.filter(visibility__in=national, dimension=dimension))
        if cities:
            selects.append(CityEngagementTally.objects.filter(reduce(or_, cities), dimension=dimension))
        sqls, params = [], []
        for tallies in selects:
            if allowed is not None:
                tallies = tallies.filter(key__in=allowed)
            try:
                sql, more = tallies.values_list("key", "count").query.sql_with_params()
            except EmptyResultSet:
                continue
            sqls.append(f"({sql})")
            params.extend(more)
        if dimension == "month":
            chosen = finish

            def finish(rows):
                return chosen(row for row in rows if self._month_allowed(row[0]))

        if not sqls:
            return Pending(None, [], 0, finish)
        # Every piece is ORM-compiled SQL with parameters, or a name from LABELS.
        union = " UNION ALL ".join(sqls)
        if label is None:
            sql = f"SELECT tally.key, sum(tally.count) FROM ({union}) AS tally (key, count) GROUP BY tally.key"  # noqa: S608
        else:
            table, joined, (key, name) = label
            sql = (
                f"SELECT label.{key}, label.{name}, sum(tally.count) FROM ({union}) AS tally (key, count) "  # noqa: S608
                f"JOIN {table} AS label ON label.{joined} = tally.key GROUP BY label.{key}, label.{name}"
            )
        return Pending(f"{sql} HAVING sum(tally.count) > 0", params, 2 if label else 1, finish)

    def per_city(self) -> "Pending | None":
        """`[{city_id, city__name, city__subdivision, city__country_id, count}]` of the cities
        with engagements in scope; None when a condition keys a month."""
        fields = ("city_id", "city__name", "city__subdivision", "city__country_id")

        def finish(rows):
            return [{**dict(zip(fields, (int(row[0]), *row[1:4]), strict=True)), "count": row[4]} for row in rows]

        where = self._city_q()
        if "start_date" in self.keys or len(self.keys) > 1:
            return None
        if where is None:
            return Pending(None, [], 0, finish)
        column = next(iter(self.keys), None)
        if column is None:
            rows = EngagementCount.objects.filter(where)
        else:
            rows = CityEngagementTally.objects.filter(where, dimension=column, key__in=self._keys_in(column))
        rows = rows.values(*fields).annotate(total=Sum("count")).filter(total__gt=0)
        return Pending.of(rows.values_list(*fields, "total"), 4, finish)

    def active_cities(self, year: int) -> "Pending | None":
        """How many cities have engagements in scope starting in `year`; None when a condition
        keys a dimension."""
        if self.keys:
            return None
        where = self._city_q()
        if where is None:
            return Pending(None, [], 0, lambda rows: 0)
        rows = CityEngagementTally.objects.filter(where, dimension="year", key=f"{year:04d}", count__gt=0)
        cities = rows.values_list("city_id").distinct()
        pending = Pending.of(cities, 0, lambda rows: rows[0][0] if rows else 0)
        if pending.sql is not None:
            pending.sql = f"SELECT count(*) FROM ({pending.sql}) AS cities"  # noqa: S608 - ORM-compiled
        return pending


@dataclass
class Pending:
    """One read of the tallies: SQL answering `width` text columns and a count per row, and what
    turns those rows into the answer. `fetch` runs several in one round trip."""

    sql: str | None
    params: list
    width: int
    finish: Callable

    @classmethod
    def of(cls, queryset, width: int, finish: Callable) -> "Pending":
        try:
            sql, params = queryset.query.sql_with_params()
        except EmptyResultSet:
            return cls(None, [], width, finish)
        return cls(sql, list(params), width, finish)


def fetch(*pendings: Pending) -> list:
    """The answers of `pendings`, read in one query."""
    width = max((pending.width for pending in pendings), default=0)
    selects, params = [], []
    for index, pending in enumerate(pendings):
        if pending.sql is None:
            continue
        names = [f"c{column}" for column in range(pending.width)]
        values = [f"q.{name}::text" for name in names] + ["NULL::text"] * (width - pending.width)
        selects.append(
            f"SELECT {index} AS part, {', '.join([*values, 'q.n::bigint'])} "  # noqa: S608 - ORM-compiled pieces
            f"FROM ({pending.sql}) AS q ({', '.join([*names, 'n'])})"
        )
        params.extend(pending.params)
    rows = {index: [] for index in range(len(pendings))}
    if selects:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(selects), params)
            for part, *values, count in cursor.fetchall():
                rows[part].append((*values[: pendings[part].width], int(count)))
    return [pending.finish(rows[index]) for index, pending in enumerate(pendings)]


def _month_aligned(node) -> bool:
    if node[0] == "leaf":
        lookup, day = node[2], node[3]
        return day.day == 1 if lookup in ("gte", "lt") else _last_day(day)
    if node[0] == "not":
        return _month_aligned(node[1])
    return all(_month_aligned(child) for child in node[1])


def _month_start(key: str) -> dt.date:
    return month_start(key)
