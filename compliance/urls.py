from django.urls import path

from . import views

app_name = "compliance"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("flags/<int:pk>/decide/", views.decide, name="decide"),
]
