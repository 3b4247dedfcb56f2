from django.apps import AppConfig


class UtilitiesConfig(AppConfig):
    """Installed for its template tags (`{% load drafts %}`), system checks and lookups; it has no models."""

    name = "utilities"
    verbose_name = "Utilities"

    def ready(self):
        from django.db.models import Field, ForeignObject

        from . import checks  # noqa: F401  (registers them)
        from .expressions import AnyOf

        Field.register_lookup(AnyOf)
        # Relations keep lookups of their own.
        ForeignObject.register_lookup(AnyOf)
