"""Query expressions the ORM lacks."""

from django.db.models import Func


class ByteOrder(Func):
    """`expression`, sorted byte by byte (code point order for UTF-8 text) whatever the
    database's collation: PostgreSQL's `COLLATE "C"`; SQLite's default (BINARY) is that already.
    How natural keys are listed (`utilities.serializers.KeyListField`)."""

    template = "%(expressions)s"

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template='%(expressions)s COLLATE "C"', **extra_context)
