"""The rollup triggers a migrated database runs are the ones `rollups/triggers.py` shows a reader:
every function and trigger, no more and no fewer, equal up to whitespace."""

import re

import pytest
from django.db import connection

from rollups import triggers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def normalised(sql: str) -> str:
    # The database qualifies names outside the search path; ours live in the current schema.
    return re.sub(r"\bpublic\.", "", " ".join(sql.split()))


def test_the_migrated_functions_are_the_ones_in_rollups_triggers():
    with connection.cursor() as cursor:
        cursor.execute(
            r"""
            SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid),
                   l.lanname, p.prosrc
            FROM pg_proc AS p
            JOIN pg_namespace AS n ON n.oid = p.pronamespace
            JOIN pg_language AS l ON l.oid = p.prolang
            WHERE n.nspname = current_schema() AND p.proname LIKE 'rollups\_%'
            """
        )
        installed = {
            name: (arguments, result, language, normalised(source))
            for name, arguments, result, language, source in cursor.fetchall()
        }
    defined = {
        name: (function.arguments, function.returns, "plpgsql", normalised(function.source))
        for name, function in triggers.FUNCTIONS.items()
    }

    assert sorted(installed) == sorted(defined)
    for name, definition in defined.items():
        assert installed[name] == definition, f"{name} differs from rollups/triggers.py"


def test_the_migrated_triggers_are_the_ones_in_rollups_triggers():
    with connection.cursor() as cursor:
        cursor.execute(
            r"SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'rollups\_%'"
        )
        installed = {name: normalised(definition) for name, definition in cursor.fetchall()}
    defined = {name: normalised(trigger.sql()).removesuffix(";") for name, trigger in triggers.TRIGGERS.items()}

    assert sorted(installed) == sorted(defined)
    for name, definition in defined.items():
        assert installed[name] == definition, f"{name} differs from rollups/triggers.py"
