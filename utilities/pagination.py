"""Pages of API lists."""

from django.core.paginator import Paginator
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """`?page=` and `?page_size=` (default 50, at most 500), as the API contract says."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class CountedPaginator(Paginator):
    """A paginator told its count rather than asking the database for it."""

    def __init__(self, object_list, per_page, *, count: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.__dict__["count"] = count
