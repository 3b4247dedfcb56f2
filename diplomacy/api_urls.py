"""The REST API v1: one router for every resource, plus the schema and its docs."""

from csp.decorators import csp_update
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
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
from compliance.api.views import ComplianceFlagViewSet, ComplianceRuleViewSet
from contacts.api.views import ContactViewSet
from documents.api.views import DocumentViewSet
from engagements.api.views import AgreementViewSet, EngagementStatsViewSet, EngagementViewSet, FollowUpViewSet
from imports.api.views import ImportJobViewSet
from notifications.api.views import NotificationViewSet
from search.api.views import SearchViewSet
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
router.register("compliance-rules", ComplianceRuleViewSet, basename="compliance-rule")
router.register("compliance-flags", ComplianceFlagViewSet, basename="compliance-flag")
router.register("contacts", ContactViewSet, basename="contact")
router.register("documents", DocumentViewSet, basename="document")
router.register("search", SearchViewSet, basename="search")

# The docs' own libraries style their widgets inline; their scripts still come from files only.
DOCS_CSP = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]})

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script from a URL, so the docs need no inline script under the CSP.
    path("docs/", DOCS_CSP(SpectacularSwaggerSplitView.as_view(url_name="api:api-schema")), name="api-docs"),
    path("redoc/", DOCS_CSP(SpectacularRedocView.as_view(url_name="api:api-schema")), name="api-redoc"),
    path("", include(router.urls)),
    # Keep last: any other path under the API is a JSON 404, not the site's HTML page.
    re_path(r"", api_not_found),
]
