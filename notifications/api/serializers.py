from rest_framework import serializers

from ..models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    url = serializers.SerializerMethodField(help_text="Absolute link to the record the notification is about.")
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "kind_display",
            "title",
            "data",
            "url",
            "engagement",
            "agreement",
            "follow_up",
            "review",
            "created_at",
            "is_read",
            "read_at",
            "email_state",
        ]
        read_only_fields = fields

    def get_url(self, notification) -> str:
        return self.context["request"].build_absolute_uri(notification.get_absolute_url())
