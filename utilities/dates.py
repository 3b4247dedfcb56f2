"""Dates every record and filter accepts (SPEC §3: 1900-01-01 to 2100-12-31) and month keys.

A month key is always `YYYY-MM`: `strftime("%Y-%m")` writes year 226 as `226-05`, which cannot be
parsed back, so keys are built and read here only.
"""

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models

DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)
OUT_OF_RANGE = f"Give a date between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}."


def in_range(value) -> bool:
    """Whether a date (or the date of a datetime) lies in DATE_MIN..DATE_MAX."""
    if isinstance(value, dt.datetime):
        value = value.date()
    return DATE_MIN <= value <= DATE_MAX


def validate_in_range(value) -> None:
    """A field or form validator: the date lies in DATE_MIN..DATE_MAX."""
    if value is not None and not in_range(value):
        raise ValidationError(OUT_OF_RANGE, code="date_out_of_range")


def date_range_errors(instance, field_names: Iterable[str] | None = None) -> dict[str, list[str]]:
    """`{field: [message]}` for each of `field_names` (by default every editable date and datetime
    field of the model) whose value on `instance` is out of range; a model's `clean()` raises them."""
    if field_names is None:
        field_names = [
            field.name
            for field in instance._meta.concrete_fields
            if isinstance(field, models.DateField) and field.editable
        ]
    errors = {}
    for name in field_names:
        value = getattr(instance, name, None)
        if isinstance(value, dt.date) and not in_range(value):
            errors[name] = [OUT_OF_RANGE]
    return errors


def month_key(value: dt.date) -> str:
    """`YYYY-MM`, the year always four digits."""
    return f"{value.year:04d}-{value.month:02d}"


def month_start(key: str) -> dt.date:
    """The first day of the month a `YYYY-MM` key names (a key of an unpadded year, `226-05`,
    reads too)."""
    year, month = key.split("-")[:2]
    return dt.date(int(year), int(month), 1)


def month_label(value: dt.date) -> str:
    """`May 2026` (`May 0226` for a year below 1000, read the same everywhere)."""
    return f"{value:%B} {value.year:04d}"


def clamp(value: dt.date) -> dt.date:
    """The nearest date within DATE_MIN..DATE_MAX, for showing a stored out-of-range date's
    neighbourhood without arithmetic beyond Python's calendar."""
    return min(max(value, DATE_MIN), DATE_MAX)
