from django.contrib import admin
from django.urls import include, path

from utilities.views import favicon, healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include(("diplomacy.api_urls", "api"))),
    path("notifications/", include("notifications.urls")),
    path("imports/", include("imports.urls")),
    path("compliance/", include("compliance.urls")),
    path("calendar/", include("calendars.urls")),
    path("", include("search.urls")),
    path("", include("engagements.urls")),
    path("", include("contacts.urls")),
    path("", include("documents.urls")),
    path("", include("cities.urls")),
    # Last: its `cities/<slug>/` must not shadow fixed paths such as `cities/search/`.
    path("", include("dashboards.urls")),
]
