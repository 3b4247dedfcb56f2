"""The REST API v1: one router for every resource, plus the schema and its docs."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from cities.api.views import (
    CityViewSet,
    CountryViewSet,
    MembershipViewSet,
    NetworkViewSet,
    OfficeViewSet,
    OrganizationViewSet,
    TopicViewSet,
)
from engagements.api.views import AgreementViewSet, EngagementStatsViewSet, EngagementViewSet, FollowUpViewSet
from imports.api.views import ImportJobViewSet
from notifications.api.views import NotificationViewSet
from utilities.api import api_not_found

# Route names live in the "api" namespace (api:engagement-list), apart from the pages' names.
router = DefaultRouter()
router.register("countries", CountryViewSet, basename="country")
router.register("cities", CityViewSet, basename="city")
router.register("offices", OfficeViewSet, basename="office")
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("networks", NetworkViewSet, basename="network")
router.register("memberships", MembershipViewSet, basename="membership")
router.register("topics", TopicViewSet, basename="topic")
router.register("agreements", AgreementViewSet, basename="agreement")
router.register("engagements", EngagementViewSet, basename="engagement")
router.register("follow-ups", FollowUpViewSet, basename="follow-up")
router.register("stats/engagements", EngagementStatsViewSet, basename="stats-engagements")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("imports", ImportJobViewSet, basename="import")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:api-schema"), name="api-redoc"),
    path("", include(router.urls)),
    # Keep last: any other path under the API is a JSON 404, not the site's HTML page.
    re_path(r"", api_not_found),
]
