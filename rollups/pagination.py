from django.core.paginator import Paginator

from diplomacy.pagination import StandardPagination
from engagements.models import Engagement

from .counts import engagement_count


class CountedPaginator(Paginator):
    """A paginator told its count rather than asking the database for it."""

    def __init__(self, object_list, per_page, *, count: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.__dict__["count"] = count


class EngagementPagination(StandardPagination):
    """The standard pages, with the exact total read from the engagement rollup when the filters
    allow (no filter, or only city, state and visibility): a count over a million rows costs tens
    of milliseconds on every page, the rollup well under one."""

    def paginate_queryset(self, queryset, request, view=None):
        count = engagement_count(request.user, request.query_params) if queryset.model is Engagement else None
        if count is not None:
            self.django_paginator_class = lambda items, per_page: CountedPaginator(items, per_page, count=count)
        return super().paginate_queryset(queryset, request, view)
