from django.urls import path

from . import views

urlpatterns = [
    path("documents/<int:pk>/file/", views.document_file, name="document-file"),
    path("documents/<int:pk>/delete/", views.document_delete, name="document-delete"),
    path(
        "agreements/<int:pk>/documents/",
        views.document_upload,
        {"record_type": "agreement"},
        name="agreement-document-upload",
    ),
    path(
        "engagements/<int:pk>/documents/",
        views.document_upload,
        {"record_type": "engagement"},
        name="engagement-document-upload",
    ),
]
