from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer

from accounts.policy import restrict
from documents.models import Document
from documents.services import add_document, delete_document, max_bytes
from documents.views import RECORD_MODELS, download_response
from utilities.api import ApiViewSet, DestroyMixin
from utilities.filterfields import IdFilter
from utilities.serializers import as_drf_error

from .serializers import DocumentSerializer, DocumentUploadSerializer


class DocumentFilterSet(filters.FilterSet):
    agreement = IdFilter(field_name="agreement_id")
    engagement = IdFilter(field_name="engagement_id")
    kind = filters.ChoiceFilter(choices=Document.Kind.choices)

    class Meta:
        model = Document
        fields = ["agreement", "engagement", "kind"]


class FileRenderer(BaseRenderer):
    """The download answers with the file itself, whatever the client accepts."""

    media_type = "*/*"
    format = "file"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class DocumentViewSet(mixins.RetrieveModelMixin, DestroyMixin, ApiViewSet):
    """Files on agreements and engagements (SPEC §8.4): read by whoever reads the record (partners:
    the public documents of public records only). The record's city's staff upload them (multipart)
    and remove them; the file itself is read at `{id}/file/`."""

    serializer_class = DocumentSerializer
    filterset_class = DocumentFilterSet
    http_method_names = ["get", "post", "delete", "head", "options"]
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        queryset = Document.objects.select_related("agreement", "engagement").order_by("-uploaded_at", "-id")
        return restrict(queryset, self.request.user)

    def get_write_model(self):
        return Document

    def get_renderers(self):
        if self.action == "file":
            return [FileRenderer()]
        return super().get_renderers()

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if self.action == "file":
            # An error (404, 401) answers as JSON like the rest of the API, whatever was accepted.
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def check_body_size(self, request):
        if self.action != "create":
            return super().check_body_size(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError as error:
            raise exceptions.ParseError("Content-Length is not a number.") from error
        # Refused before the body is read: nothing of it is stored.
        if length > max_bytes() + 65_536:
            raise exceptions.ValidationError(
                {"file": [f"The file is larger than the limit of {max_bytes() / 2**20:,.0f} MB."]}
            )

    @extend_schema(request={"multipart/form-data": DocumentUploadSerializer}, responses={201: DocumentSerializer})
    def create(self, request, *args, **kwargs):
        unknown = sorted(set(request.data) - set(DocumentUploadSerializer().fields))
        if unknown:
            raise exceptions.ValidationError({name: ["This field cannot be set."] for name in unknown})
        incoming = DocumentUploadSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        model = RECORD_MODELS[data["record_type"]]
        record = model.objects.visible_to(request.user).filter(pk=data["record_id"]).first()
        if record is None:
            raise exceptions.ValidationError({"record_id": [f"No {data['record_type']} has this id."]})
        try:
            document = add_document(
                actor=request.user,
                record=record,
                upload=data["file"],
                kind=data["kind"],
                title=data["title"],
                is_public=data["is_public"],
            )
        except PermissionDenied as error:
            raise exceptions.ValidationError(
                {"record_id": ["You may add documents only to the records of your home cities."]}
            ) from error
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return self.record_response(document, status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file, as an attachment.")}
    )
    @action(detail=True, methods=["get"], url_path="file")
    def file(self, request, *args, **kwargs):
        return download_response(self.get_object())

    def perform_delete(self, instance):
        delete_document(actor=self.request.user, document=instance)
