from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from imports import services
from imports.models import ImportJob

from .serializers import (
    ImportErrorSerializer,
    ImportJobCreateSerializer,
    ImportJobDetailSerializer,
    ImportJobSerializer,
)

# The detail answer as the schema shows it: the job plus its row errors (see the serializer).
JOB_WITH_ERRORS = inline_serializer(
    "ImportJobWithErrors",
    fields={
        **ImportJobSerializer().get_fields(),
        "errors": ImportErrorSerializer(many=True),
        "errors_truncated": serializers.BooleanField(),
    },
)


@extend_schema_view(retrieve=extend_schema(responses=JOB_WITH_ERRORS))
class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's import jobs (an admin's: everyone's). POST a file to start one; poll the job
    for its progress and report. Who may import what is checked by the import service."""

    # Not the policy's record permission (the default): a job is created by an upload, not a write
    # of the record itself, and the queryset already shows each caller only their jobs.
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["kind", "status", "dry_run"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return ImportJob.objects.visible_to(self.request.user).select_related("owner")

    def get_serializer_class(self):
        if self.action == "retrieve":
            return ImportJobDetailSerializer
        if self.action == "create":
            return ImportJobCreateSerializer
        return ImportJobSerializer

    @extend_schema(request=ImportJobCreateSerializer, responses={201: JOB_WITH_ERRORS})
    def create(self, request, *args, **kwargs):
        if not services.may_import_at_all(request.user):
            raise exceptions.PermissionDenied("Only city staff and administrators import files.")
        incoming = ImportJobCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            job = services.create_job(
                owner=request.user,
                upload=incoming.validated_data["file"],
                kind=incoming.validated_data["kind"],
                dry_run=incoming.validated_data["dry_run"],
            )
        except ValidationError as error:
            raise exceptions.ValidationError(error.message_dict) from error
        except PermissionDenied as error:
            raise exceptions.PermissionDenied(str(error)) from error
        job.refresh_from_db()
        return Response(
            ImportJobDetailSerializer(job, context={"request": request}).data, status=status.HTTP_201_CREATED
        )
