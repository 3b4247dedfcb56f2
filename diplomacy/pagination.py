from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """`?page=` and `?page_size=` (default 50, at most 500), as the API contract says."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
