from django.apps import AppConfig


class UtilitiesConfig(AppConfig):
    """Installed only for its template tags (`{% load drafts %}`); it has no models."""

    name = "utilities"
    verbose_name = "Utilities"
