from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("", views.upload, name="upload"),
    path("<int:pk>/", views.job_page, name="job"),
    path("<int:pk>/errors.csv", views.errors_csv, name="errors-csv"),
    path("export/<slug:kind>.csv", views.export_csv, name="export-csv"),
]
