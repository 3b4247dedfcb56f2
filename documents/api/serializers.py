from django.urls import reverse
from rest_framework import serializers

from accounts.policy import reads_people
from documents.models import Document
from utilities.filterfields import MAX_ID
from utilities.serializers import LabelField


class DocumentSerializer(serializers.ModelSerializer):
    record_type = serializers.CharField(read_only=True, help_text="`agreement` or `engagement`.")
    record_id = serializers.IntegerField(read_only=True)
    kind_display = LabelField(source="get_kind_display")
    file = serializers.SerializerMethodField(help_text="Where to download the file (through the access policy).")
    uploaded_by = serializers.SerializerMethodField(help_text="Null for those who do not read people's data.")

    class Meta:
        model = Document
        fields = [
            "id",
            "record_type",
            "record_id",
            "kind",
            "kind_display",
            "title",
            "file",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "is_public",
            "uploaded_by",
            "uploaded_at",
        ]
        read_only_fields = fields

    def get_file(self, document) -> str:
        path = reverse("api:document-file", args=[document.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_uploaded_by(self, document) -> int | None:
        request = self.context.get("request")
        return document.uploaded_by_id if request and reads_people(request.user) else None


class DocumentUploadSerializer(serializers.Serializer):
    """`POST /documents/`, multipart."""

    file = serializers.FileField(allow_empty_file=True, use_url=False)
    record_type = serializers.ChoiceField(choices=["agreement", "engagement"])
    record_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    kind = serializers.ChoiceField(choices=Document.Kind.choices)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    is_public = serializers.BooleanField(required=False, default=False)
