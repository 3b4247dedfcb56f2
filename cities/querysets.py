from django.db import models

from .text import fold


class CityQuerySet(models.QuerySet):
    def search(self, query: str):
        """Cities whose name starts with `query`, largest first (type-ahead and the API's `q`)."""
        folded = fold(query)
        if not folded:
            return self.none()
        return self.filter(search_name__startswith=folded).order_by("-population", "name")
