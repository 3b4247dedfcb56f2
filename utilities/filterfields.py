"""Filter building blocks shared by every FilterSet: values that do not parse are errors (400 in the
API, a message on the HTML list), never silently ignored."""

import django_filters
from django import forms
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field

from .dates import DATE_MAX, DATE_MIN, validate_in_range

ISO2_PATTERN = r"^[A-Za-z]{2}$"
SUBDIVISION_PATTERN = r"^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$"
SLUG_PATTERN = r"^[-a-zA-Z0-9_]{1,80}$"
ISO2_VALIDATOR = RegexValidator(ISO2_PATTERN, "Give an ISO 3166-1 alpha-2 code, e.g. JP.")
SUBDIVISION_VALIDATOR = RegexValidator(SUBDIVISION_PATTERN, "Give an ISO 3166-2 code, e.g. US-CA.")
SLUG_VALIDATOR = RegexValidator(SLUG_PATTERN, "Give a slug, e.g. climate.")
# Ids beyond PostgreSQL's bigint would otherwise reach the database and fail there.
MAX_ID = 2**63 - 1


class StrictBooleanField(forms.TypedChoiceField):
    """`true`/`false` (also `1`/`0`, `yes`/`no`); anything else is an error rather than "no filter"."""

    TRUE = ("true", "1", "yes", "on", "True")
    FALSE = ("false", "0", "no", "off", "False")

    def __init__(self, *args, **kwargs):
        kwargs.pop("coerce", None)
        kwargs.pop("empty_value", None)
        kwargs.setdefault("choices", [(value, value) for value in self.TRUE + self.FALSE])
        super().__init__(*args, coerce=lambda value: value in self.TRUE, empty_value=None, **kwargs)


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """A positive integer id."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "string", "pattern": ISO2_PATTERN})
class CountryCodeFilter(django_filters.CharFilter):
    """An ISO 3166-1 alpha-2 code, any case."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, validators=[ISO2_VALIDATOR], **kwargs)


@extend_schema_field({"type": "string", "pattern": SUBDIVISION_PATTERN})
class SubdivisionFilter(django_filters.CharFilter):
    """An ISO 3166-2 code such as US-CA, any case."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, validators=[SUBDIVISION_VALIDATOR], **kwargs)


@extend_schema_field({"type": "string", "pattern": SLUG_PATTERN})
class SlugFilter(django_filters.CharFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, validators=[SLUG_VALIDATOR], max_length=80, **kwargs)


class SlugChoiceField(forms.MultipleChoiceField):
    """Offers the known slugs as choices (for the HTML form) but accepts any well-formed slug
    without a query: an unknown one simply matches nothing."""

    def valid_value(self, value):
        return bool(SLUG_VALIDATOR.regex.match(str(value)))


# Schema of one value; the parameter repeats (django-filter's MultipleChoiceFilter is an array).
@extend_schema_field({"type": "string", "pattern": SLUG_PATTERN})
class SlugListFilter(django_filters.MultipleChoiceFilter):
    """A repeatable slug parameter (`?topic=climate&topic=trade-investment` = either)."""

    field_class = SlugChoiceField


class BoundedDateField(forms.DateField):
    """An ISO date within DATE_MIN..DATE_MAX (SPEC §3): a date no record can have (0001-01-01,
    9999-12-31) is an error naming the parameter, never arithmetic beyond the calendar later."""

    default_validators = [validate_in_range]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if isinstance(value, str) and "\x00" in value:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


@extend_schema_field(
    {
        "type": "string",
        "format": "date",
        "description": f"An ISO date from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}.",
    }
)
class BoundedDateFilter(django_filters.DateFilter):
    """A date filter (`?start_after=2024-01-01`) that accepts only dates a record may have."""

    field_class = BoundedDateField


class StableOrderingFilter(django_filters.OrderingFilter):
    """`?ordering=` that always ends with the primary key, so pages never repeat or skip rows
    when many rows share a date."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        if value in django_filters.constants.EMPTY_VALUES:
            return qs
        ordering = list(qs.query.order_by)
        last = ordering[-1] if ordering else ""
        if last.lstrip("-") not in ("pk", "id"):
            ordering.append("-pk" if last.startswith("-") else "pk")
        return qs.order_by(*ordering)
