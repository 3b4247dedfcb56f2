"""What every API resource shares: strict query strings, bounded bodies, `?expand=`, `?format=csv`
streaming and the error responses the schema promises.

Resources subclass `ApiViewSet` and declare their queryset, serializer and filterset. Who may do
what is not decided here: the permission class in REST_FRAMEWORK's DEFAULT_PERMISSION_CLASSES
(`accounts.permissions.PolicyPermission`) asks the access policy, through the two hooks
`get_write_model` and `get_object_action`.
"""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, status, viewsets
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from . import csv as csv_files
from .csv import copy_csv_response, csv_lines, csv_response
from .parsers import StrictJSONParser
from .serializers import as_drf_error

# JSON bodies larger than this are refused before parsing (imports upload files elsewhere).
MAX_BODY_BYTES = 1_048_576
PAGE_NUMBER = re.compile(r"^([1-9][0-9]{0,8}|last)$")
PAGE_SIZE = re.compile(r"^[1-9][0-9]{0,8}$")


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The request body is larger than {MAX_BODY_BYTES} bytes."
    default_code = "payload_too_large"


def names_a_filter(request, filterset_class) -> bool:
    """Whether the request's query string names one of `filterset_class`'s filters (its ordering
    included)."""
    return filterset_class is not None and not request.query_params.keys().isdisjoint(filterset_class.base_filters)


class FilterBackend(DjangoFilterBackend):
    """The resource's FilterSet, built only when the request names one of its filters: an
    unfiltered page (the one partners read most) skips building and validating a form of some
    twenty fields, which cost more than reading the page's rows."""

    def filter_queryset(self, request, queryset, view):
        if not names_a_filter(request, self.get_filterset_class(view, queryset)):
            return queryset
        return super().filter_queryset(request, queryset, view)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Other records still refer to this one."
    default_code = "conflict"


class CSVRenderer(BaseRenderer):
    """`?format=csv` on a list. Lists stream their rows themselves; this renders the rest
    (a plain list of objects, such as the stats endpoint's)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = data.get("results", []) if isinstance(data, dict) else list(data or [])
        header = list(rows[0]) if rows else []
        return "".join(csv_lines(header, rows)).encode("utf-8")


class ApiViewSet(viewsets.GenericViewSet):
    """A resource of the API. Subclasses set `queryset` (or `get_queryset`, scoped to the caller),
    `serializer_class`, `filterset_class`, `http_method_names` and `csv_filename` (enables
    `?format=csv` on the list). Permission comes from REST_FRAMEWORK's default, the access policy."""

    # The API speaks JSON; form encodings would only be a second, less strict way in.
    parser_classes = [StrictJSONParser]
    filter_backends = [FilterBackend]
    http_method_names = ["get", "head", "options"]
    # Ids in URLs; anything else is not a route, so it never reaches the database.
    lookup_value_regex = r"[0-9]{1,18}"
    filterset_class = None
    csv_filename: str | None = None
    paginated_actions = frozenset({"list"})
    requested_expand: tuple[str, ...] = ()

    def get_write_model(self):
        """The model a write to the list (a create) makes a record of."""
        return self.get_queryset().model

    def get_object_action(self) -> str:
        """What a write to one record does to it, as the access policy names actions."""
        return "delete" if self.action == "destroy" else "change"

    # --- the request ------------------------------------------------------------------------

    def get_renderers(self):
        renderers = super().get_renderers()
        # No action: a method this resource does not have, which must still reach its 405.
        if self.action in ("list", None) and self.csv_filename:
            renderers.append(CSVRenderer())
        return renderers

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force=force)
        except Http404 as error:
            # DRF answers an unknown `?format=` with 404, as if the resource did not exist.
            raise exceptions.ValidationError({"format": ["Unsupported format for this resource."]}) from error

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.action is None and request.method != "OPTIONS":
            raise exceptions.MethodNotAllowed(request.method)
        self.check_body_size(request)
        self.check_query_params(request)

    def check_body_size(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError as error:
            raise exceptions.ParseError("Content-Length is not a number.") from error
        if length > MAX_BODY_BYTES:
            raise PayloadTooLarge()

    def allowed_query_params(self) -> set[str]:
        allowed = {"format"}
        if getattr(self.get_serializer_class(), "expandable", None):
            allowed.add("expand")
        if self.action in self.paginated_actions:
            allowed |= {"page", "page_size"}
        if self.action == "list" and self.filterset_class is not None:
            allowed |= set(self.filterset_class.base_filters)
        return allowed

    def check_query_params(self, request):
        """An unknown or malformed parameter is a 400: a typo must not silently widen a result."""
        params = request.query_params
        errors = {name: ["Unknown query parameter."] for name in params if name not in self.allowed_query_params()}
        for name, values in params.lists():
            # An empty `ordering` is the default order; any other empty value is a mistake.
            if name not in errors and name != "ordering" and any(value == "" for value in values):
                errors[name] = ["Give a value, or leave the parameter out."]
        for name, pattern in (("page", PAGE_NUMBER), ("page_size", PAGE_SIZE)):
            if name in params and name not in errors and not pattern.match(params[name]):
                errors[name] = ["Give a positive whole number."]
        if "expand" in params and "expand" not in errors:
            expandable = self.get_serializer_class().expandable
            wanted = [name.strip() for value in params.getlist("expand") for name in value.split(",") if name.strip()]
            unknown = [name for name in wanted if name not in expandable]
            if unknown:
                errors["expand"] = [f"Cannot expand {', '.join(unknown)}; choose from {', '.join(sorted(expandable))}."]
            self.requested_expand = tuple(dict.fromkeys(wanted))
        if errors:
            raise exceptions.ValidationError(errors)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "expand": self.requested_expand}

    # --- the response -----------------------------------------------------------------------

    def record_response(self, instance, status_code):
        # Read back through the view's queryset so relations are those now stored.
        stored = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(stored).data, status=status_code)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        if request.accepted_renderer.format == "csv":
            return self.csv_response(queryset)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def csv_response(self, queryset):
        """Every filtered row: written by PostgreSQL when the resource can say its columns in SQL
        (`csv_copy_rows`), otherwise read in chunks (related objects prefetched per chunk)."""
        serializer = self.get_serializer_class()(context={**self.get_serializer_context(), "expand": ()})
        header = list(serializer.fields)
        if csv_files.copy_supported(queryset.db):
            rows = self.csv_copy_rows(queryset, header)
            if rows is not None:
                return copy_csv_response(self.csv_filename, header, rows)
        return csv_response(self.csv_filename, header, self.csv_rows(queryset, serializer))

    def csv_copy_rows(self, queryset, header):
        """The export as a `values_list` queryset of CSV cells in SQL, one per `header` name
        (see `utilities.csv.copy_csv_response`), or None to serialize each record in Python."""
        return None

    def csv_rows(self, queryset, serializer):
        """The export's rows, read as the response streams them (a resource may read faster)."""
        return (serializer.to_representation(obj) for obj in queryset.iterator(chunk_size=500))

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError):
            exc = as_drf_error(exc)
        elif isinstance(exc, ProtectedError):
            exc = Conflict()
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if (
            isinstance(response, Response)
            and response.status_code >= 400
            and isinstance(getattr(response, "accepted_renderer", None), CSVRenderer)
        ):
            # Errors are JSON whatever format the rows would have had.
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response


ERROR_RESPONSES = {
    "400": "The request is malformed: an unknown or invalid query parameter, or invalid fields.",
    "401": "No valid token or session.",
    "403": "The record is visible but the caller may not do this (or CSRF failed for a session).",
    "404": "No such record, or one the caller may not see.",
    "406": "No acceptable representation for the Accept header.",
    "429": "Too many requests; retry after the number of seconds in Retry-After.",
}
BODY_ERROR_RESPONSES = {
    "413": "The request body is too large.",
    "415": "Unsupported Content-Type.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents the errors it can answer."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    }
    components["ValidationError"] = {
        "type": "object",
        "description": 'Field errors: `{"field": ["message"]}`; `non_field_errors` for the record as a whole.',
        "additionalProperties": True,
    }
    for name, schema in components.items():
        # Request bodies take only the fields they list: anything else is a 400 (StrictModelSerializer).
        if name.endswith("Request") and schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query":
                    continue
                if parameter.get("name") in ("page", "page_size"):
                    parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 999_999_999}
                elif parameter["schema"].get("type") == "string":
                    # A parameter given must have a value (ApiViewSet.check_query_params).
                    parameter["schema"].setdefault("minLength", 1)
            responses = operation["responses"]
            errors = dict(ERROR_RESPONSES)
            if method in ("post", "put", "patch"):
                errors.update(BODY_ERROR_RESPONSES)
            if method in ("post", "put", "patch", "delete"):
                errors["409"] = "The record conflicts with others (e.g. still referred to)."
            for code, description in errors.items():
                schema = "ValidationError" if code == "400" else "Error"
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
                    },
                )
            if code_429 := responses.get("429"):
                code_429.setdefault("headers", {"Retry-After": {"schema": {"type": "integer"}}})
    return result


class CreateMixin:
    """POST: validate, write through `perform_write` (a service), answer with the stored record."""

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = self.perform_write(serializer, None)
        return self.record_response(instance, status.HTTP_201_CREATED)


class PartialUpdateMixin:
    """PATCH: only the fields sent change."""

    def partial_update(self, request, *args, **kwargs):
        return self.write_existing(request, partial=True)

    def write_existing(self, request, *, partial):
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        instance = self.perform_write(serializer, instance)
        return self.record_response(instance, status.HTTP_200_OK)


class UpdateMixin(PartialUpdateMixin):
    """PUT: every required field is sent."""

    def update(self, request, *args, **kwargs):
        return self.write_existing(request, partial=False)


class DestroyMixin:
    def destroy(self, request, *args, **kwargs):
        self.perform_delete(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Paths under /api/v1/ that are no resource answer in JSON, like every other API error."""
    return JsonResponse({"detail": "Not found."}, status=404)
