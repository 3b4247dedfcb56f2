from django.db import models


class CityQuerySet(models.QuerySet):
    def search(self, query: str):
        """Cities with a word of a name (any script, case and accents ignored) starting with
        `query`, largest first: the cities API's `q` and the pickers (`cities.matching`)."""
        from .matching import matching_ids, name_key  # matching reads the models this module serves

        if not name_key(query):
            return self.none()
        return self.filter(pk__in=matching_ids(query)).order_by("-population", "name", "pk")
