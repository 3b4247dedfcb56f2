from django.apps import AppConfig


class UtilitiesConfig(AppConfig):
    """Installed for its template tags (`{% load drafts %}`) and system checks; it has no models."""

    name = "utilities"
    verbose_name = "Utilities"

    def ready(self):
        from . import checks  # noqa: F401  (registers them)
