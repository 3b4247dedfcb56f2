from django.urls import path

from . import views

app_name = "calendars"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/revoke/", views.revoke, name="revoke"),
    path("<str:token>.ics", views.feed, name="feed"),
]
