"""Query expressions the ORM lacks."""

import re

from django.db import models
from django.db.models import Func, Lookup
from django.db.models.lookups import In

from .sqlbulk import array_literal, id_array_literal


class ByteOrder(Func):
    """`expression`, sorted byte by byte (code point order for UTF-8 text) whatever the
    database's collation: PostgreSQL's `COLLATE "C"`; SQLite's default (BINARY) is that already.
    How natural keys are listed (`utilities.serializers.KeyListField`)."""

    template = "%(expressions)s"

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template='%(expressions)s COLLATE "C"', **extra_context)


class AnyOf(Lookup):
    """`field__any_of=values`: what `field__in=values` keeps, written on PostgreSQL as `= ANY(array)`
    with the values as one parameter. Django compiles a list of thousands of values (an imported
    chunk's ids) value by value, psycopg writes each into the statement and PostgreSQL parses
    them again: slower than running the query. The column is Django's own, so the lookup holds
    inside subqueries whatever their aliases. A subquery, or a column with no plain type of its
    own (a reverse relation), is left to `in`."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        if hasattr(self.rhs, "resolve_expression"):
            return self.rhs
        # As `in` does: None matches nothing, and a value the field refuses fails here.
        values = [value for value in self.rhs if value is not None]
        if _is_plain(self.lhs.output_field, values):
            return values
        prepare = getattr(self.lhs.output_field, "get_prep_value", None)
        return values if prepare is None else [prepare(value) for value in values]

    def as_sql(self, compiler, connection):
        return In(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_postgresql(self, compiler, connection):
        field = self.lhs.output_field
        if hasattr(self.rhs, "resolve_expression") or not hasattr(field, "get_db_prep_value"):
            return self.as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = self.rhs
        if not _is_plain(field, values):
            values = [field.get_db_prep_value(value, connection, prepared=True) for value in values]
        # The column's type without its length or precision: a cast to varchar(2) or numeric(5, 2)
        # would cut or round the values, and "DEU" would match "DE".
        element = _SIZE.sub("", field.db_type(connection))
        if all(type(value) is int for value in values):
            values = id_array_literal(values)
        elif all(type(value) is str for value in values):
            values = array_literal(values)
        return f"{lhs} = ANY(%s::{element}[])", [*lhs_params, values]


_SIZE = re.compile(r"\s*\([^)]*\)")

# Fields (these classes exactly: a subclass may change values) that take an int, or a str, as it
# is, for the query and for the database: a chunk's ten thousand ids then skip two calls each
# through the field, in Python.
_PLAIN_TYPES = {
    **dict.fromkeys(
        (
            models.AutoField,
            models.BigAutoField,
            models.SmallAutoField,
            models.IntegerField,
            models.BigIntegerField,
            models.SmallIntegerField,
            models.PositiveIntegerField,
            models.PositiveBigIntegerField,
            models.PositiveSmallIntegerField,
        ),
        int,
    ),
    models.CharField: str,
    models.TextField: str,
}


def _is_plain(field, values: list) -> bool:
    target = getattr(field, "target_field", None) if field.is_relation else field
    plain = _PLAIN_TYPES.get(type(target))
    return plain is not None and all(type(value) is plain for value in values)
