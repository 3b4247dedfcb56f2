"""Pages of API lists."""

from django.core.exceptions import EmptyResultSet
from django.core.paginator import InvalidPage, Paginator
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """`?page=` and `?page_size=` (default 50, at most 500), as the API contract says."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def prepare(self, queryset, request) -> None:
        """Called before paginating `queryset` (a subclass may choose its paginator here)."""

    def paginate_queryset(self, queryset, request, view=None):
        self.prepare(queryset, request)
        return super().paginate_queryset(queryset, request, view)

    def page_slice(self, queryset, request):
        """The page the request asks for as `queryset`'s slice, not yet read (for a view that
        reads it inside a statement of its own); counts, checks the page number and remembers
        the page for the envelope exactly as `paginate_queryset` does."""
        self.prepare(queryset, request)
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except InvalidPage as error:
            raise NotFound(self.invalid_page_message.format(page_number=page_number, message=str(error))) from error
        return self.page.object_list

    def total_statement(self, queryset, request) -> tuple[str, tuple]:
        """The statement (SQL with Django's placeholders, parameters) whose one value is
        `queryset`'s total as the paginator would count it, for a view that reads it inside a
        statement of its own."""
        try:
            sql, params = queryset.order_by().values("pk").query.sql_with_params()
        except EmptyResultSet:
            return "SELECT 0::bigint", ()
        return f"SELECT count(*) FROM ({sql}) AS counted", params  # noqa: S608 - compiled by the ORM

    def first_page(self, queryset, request, count: int) -> None:
        """Remember the first page of `queryset`, whose total `count` the view read itself, for
        the envelope, as `page_slice` would have."""
        self.request = request
        self.page = CountedPaginator(queryset, self.get_page_size(request), count=count).page(1)


class CountedPaginator(Paginator):
    """A paginator told its count rather than asking the database for it."""

    def __init__(self, object_list, per_page, *, count: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.__dict__["count"] = count
