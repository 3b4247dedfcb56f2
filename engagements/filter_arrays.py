"""The topic slugs and counterpart country codes each agreement and engagement carries on
PostgreSQL (`topic_slugs`, `counterpart_country_codes`: sorted text arrays kept exact by the
triggers of migration 0004, with a GIN index each), read by the filters.

They are no model fields: Python never writes them, so no save can write back a stale copy. A
filter matches them with `&&` (any of) or `@>` (all of), which the GIN indexes answer; two or
three such filters together are one bitmap of index entries, never a probe per row. On another
database there are no arrays: `arrays_available` is False and the filters join instead.
"""

from django.db import connections
from django.db.models import BooleanField, Expression, QuerySet

TOPIC_SLUGS = "topic_slugs"
COUNTRY_CODES = "counterpart_country_codes"
OPERATORS = {"overlaps": "&&", "contains": "@>"}
# Each array and the relation whose keys it holds: (relation, key).
ARRAY_OF_RELATION = {("topics", "slug"): TOPIC_SLUGS, ("counterpart_countries", "iso2"): COUNTRY_CODES}


def arrays_available(queryset) -> bool:
    return connections[queryset.db].vendor == "postgresql"


class ArrayMatch(Expression):
    """`<the queryset's own table>.<column> <operator> <values>` as a condition. The table is
    the query's base alias, followed through relabelling (the queryset used as a subquery)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, operator: str, values, alias: str | None = None):
        super().__init__(output_field=BooleanField())
        if column not in (TOPIC_SLUGS, COUNTRY_CODES):
            raise ValueError(f"No such array: {column!r}")
        self.column, self.operator, self.alias = column, OPERATORS[operator], alias
        self.values = values if isinstance(values, QuerySet) else list(values)

    def __repr__(self):
        return f"ArrayMatch({self.column!r}, {self.operator!r}, {self.values!r})"

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False):
        clone = self.copy()
        clone.alias = query.get_initial_alias()
        return clone

    def relabeled_clone(self, change_map):
        clone = self.copy()
        clone.alias = change_map.get(self.alias, self.alias)
        return clone

    def get_group_by_cols(self):
        return [self]

    def as_sql(self, compiler, connection):
        column = f"{compiler.quote_name_unless_alias(self.alias)}.{connection.ops.quote_name(self.column)}"
        if isinstance(self.values, QuerySet):
            # The values one column of another table holds, read by the same statement.
            sql, params = self.values.query.get_compiler(connection=connection).as_sql()
            return f"{column} {self.operator} ARRAY({sql})::text[]", params
        return f"{column} {self.operator} %s::text[]", [self.values]

    @property
    def identity(self):
        values = str(self.values.query) if isinstance(self.values, QuerySet) else tuple(self.values)
        return (type(self), self.column, self.operator, values, self.alias)

    def __eq__(self, other):
        return isinstance(other, ArrayMatch) and self.identity == other.identity

    def __hash__(self):
        return hash(self.identity)
