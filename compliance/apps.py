from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "State-law compliance"

    def ready(self):
        from . import subscribers

        subscribers.connect()

    def load_reference_data(self) -> str:
        """Called by `seed_demo` (and any reference loader) for every app that has it."""
        from .reference import load_rules

        return f"Compliance rules: {load_rules()}"
