"""Query expressions the ORM lacks."""

from django.db.models import Func, Lookup
from django.db.models.lookups import In


class ByteOrder(Func):
    """`expression`, sorted byte by byte (code point order for UTF-8 text) whatever the
    database's collation: PostgreSQL's `COLLATE "C"`; SQLite's default (BINARY) is that already.
    How natural keys are listed (`utilities.serializers.KeyListField`)."""

    template = "%(expressions)s"

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template='%(expressions)s COLLATE "C"', **extra_context)


class AnyOf(Lookup):
    """`field__any_of=values`: `field IN (values)`, written on PostgreSQL as `= ANY(array)` with
    the values as one parameter. Django compiles a list of thousands of values (an imported
    chunk's ids) value by value, psycopg writes each into the statement and PostgreSQL parses
    them again: slower than running the query. The column is Django's own, so the lookup holds
    inside subqueries whatever their aliases."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        return In(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(value, connection, prepared=False) for value in self.rhs]
        # The element type is the column's own (from the model): bigint, varchar(2), ...
        return f"{lhs} = ANY(%s::{field.db_type(connection)}[])", [*lhs_params, values]
