"""Serializer building blocks every API resource shares: strict input, relations written as keys,
and `?expand=` inlining of related objects already loaded by the view's queryset."""

from collections.abc import Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import get_error_detail

from .filterfields import MAX_ID

# Text fields without a database limit still get one here, so a megabyte of "summary" is a 400.
MAX_TEXT_LENGTH = 20_000


def as_drf_error(error: DjangoValidationError) -> serializers.ValidationError:
    """A model or service ValidationError in the API's `{"field": ["message"]}` shape."""
    detail = get_error_detail(error)
    if isinstance(detail, dict) and "__all__" in detail:
        detail["non_field_errors"] = detail.pop("__all__")
    return serializers.ValidationError(detail)


class StrictModelSerializer(serializers.ModelSerializer):
    """Rejects keys it would otherwise ignore: a field the caller may not set, or one that does
    not exist, is a 400 naming it rather than a silent no-op.

    `expandable` maps a field name to the serializer that inlines it for `?expand=name`.
    """

    expandable: Mapping[str, type[serializers.Serializer]] = {}

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        unbounded = issubclass(field_class, serializers.CharField) and "max_length" not in field_kwargs
        if unbounded and not field_kwargs.get("read_only"):
            field_kwargs["max_length"] = MAX_TEXT_LENGTH
        return field_class, field_kwargs

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            refused = sorted(str(key) for key in data if key not in writable)
            if refused:
                raise serializers.ValidationError({key: ["This field cannot be set."] for key in refused})
            # DRF reads "" as null for relations; a blank is not a way to say "none" here.
            blank = [
                name
                for name, value in data.items()
                if value == "" and isinstance(self.fields[name], serializers.RelatedField)
            ]
            if blank:
                raise serializers.ValidationError({name: ["Give a value, or null."] for name in blank})
        return super().to_internal_value(data)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in self.context.get("expand", ()):
            if name in self.expandable:
                value = getattr(instance, name)
                many = hasattr(value, "all")
                if many:
                    value = value.all()
                data[name] = (
                    self.expandable[name](value, many=many, context=self.context).data
                    if value
                    else ([] if many else None)
                )
        return data


@extend_schema_field({"type": "array", "items": {"type": "integer"}})
class IdListField(serializers.ListField):
    """A to-many relation read and written as ids; reading uses the prefetched objects."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.IntegerField(min_value=1, max_value=MAX_ID))
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return [obj.pk for obj in value.all()]


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class KeyListField(serializers.ListField):
    """A to-many relation read and written as natural keys (country iso2, topic slug), listed in
    the keys' own order (code point order, which for these ASCII keys is byte order: the order
    PostgreSQL keeps them in on each record, `engagements/filter_arrays.py`)."""

    def __init__(self, *, key: str, key_max_length: int = 80, **kwargs):
        self.key = key
        kwargs.setdefault("child", serializers.CharField(max_length=key_max_length))
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return sorted(getattr(obj, self.key) for obj in value.all())


@extend_schema_field(OpenApiTypes.STR)
class LabelField(serializers.ReadOnlyField):
    """A readable name for a related record (`city_name`, `kind_display`)."""


@extend_schema_field({"type": "string", "nullable": True})
class OptionalLabelField(serializers.ReadOnlyField):
    """The readable name of an optional relation: null when there is none."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default", None)
        super().__init__(**kwargs)
