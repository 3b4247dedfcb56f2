"""Pages of the engagement API list."""

from utilities.pagination import CountedPaginator, StandardPagination

from .models import Engagement
from .stats import engagement_total, engagement_total_statement


class EngagementPagination(StandardPagination):
    """The standard pages, with the exact total read without counting rows when the filters allow
    (`engagement_total`: on PostgreSQL the rollups answer for no filter, or only city, state and
    visibility, and one tallied dimension): a count over a million rows costs tens of milliseconds
    on every page, the rollup well under one."""

    def prepare(self, queryset, request) -> None:
        count = engagement_total(request.user, request.query_params) if queryset.model is Engagement else None
        if count is not None:
            self.django_paginator_class = lambda items, per_page: CountedPaginator(items, per_page, count=count)

    def total_statement(self, queryset, request) -> tuple[str, tuple]:
        """The rollups' sum where it is one statement (no filter)."""
        if queryset.model is Engagement:
            statement = engagement_total_statement(request.user, request.query_params)
            if statement is not None:
                return statement
        return super().total_statement(queryset, request)
