from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "documents"
    verbose_name = "Documents"

    def ready(self):
        # The record pages list their documents (engagements cannot import this app).
        from django.db.models.signals import post_delete

        from engagements.panels import add_record_section

        from .models import Document
        from .services import remove_stored_file
        from .views import documents_section

        add_record_section(documents_section)
        # A document removed, or deleted with its record, takes its stored file with it.
        post_delete.connect(remove_stored_file, sender=Document, dispatch_uid="documents-remove-stored-file")
