"""Statements PostgreSQL plans once per connection, then only runs.

Django's psycopg cursors bind parameters on the client: every run sends the statement's text,
which PostgreSQL parses and plans again. For the few statements every API request runs (the
token's read, a list's total, the page's JSON) that was a good part of the database's work per
request; here they are bound on the server and prepared (psycopg keeps the 100 most recent per
connection, by text and parameter types). Other databases run them as any other statement.

Only for statements whose plan does not depend on their values (a key's lookup, a sum over a
small table, a page read by ids): a prepared statement may come to run one generic plan for all.
"""

import functools
import re

import psycopg

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> tuple[str, tuple]:
    """`sql` with PostgreSQL's own placeholders (`$1`, ...) for Django's (`%s`, or `%(name)s`,
    each name one parameter however often it appears), and the parameters' keys in their order
    (positions, or names): worked out once per statement, where psycopg would parse the text on
    every run."""
    keys: list = []

    def number(match):
        if match[0] == "%%":
            return "%"
        key = match[1] if match[1] is not None else len(keys)
        if key not in keys:
            keys.append(key)
        return f"${keys.index(key) + 1}"

    return _PLACEHOLDER.sub(number, sql), tuple(keys)


class _PreparingCursor(psycopg.RawCursor):
    """A cursor taking `$n` placeholders that binds on the server and prepares every statement
    it runs."""

    logged = False

    def execute(self, query, params=None, *, prepare=None, binary=None):
        super().execute(query, params, prepare=True, binary=binary)
        if self.logged:
            # Django's query log reads the statement from `_query`, which psycopg's
            # server-binding path does not keep. Written only for the log: encoding the
            # parameters again was a twentieth of the Python an API page took.
            self._query = self._convert_query(query, params)
        return self


def fetch_prepared(connection, sql: str, params=()) -> list[tuple]:
    """The rows of `sql` (Django's placeholders; `params` a sequence, or a mapping for named
    ones), prepared on PostgreSQL, through a cursor Django wraps as its own (query log, execute
    wrappers, its errors), after the connection's health check as for any first query. Nothing
    is prepared where the connection does not allow it (`DATABASE_PREPARED_STATEMENTS=0`)."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    statement, keys = numbered(sql)
    # What `connection.cursor()` does before a statement, for a cursor of another class.
    connection.validate_thread_sharing()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _PreparingCursor(connection.connection)
    raw.logged = connection.queries_logged
    wrap = connection.make_debug_cursor if raw.logged else connection.make_cursor
    with wrap(raw) as cursor:
        cursor.execute(statement, [params[key] for key in keys])
        return cursor.fetchall()
