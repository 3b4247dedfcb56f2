"""`GET /api/v1/search/?q=`: global search (SPEC §8.1), paged like every API list, with the
number of matches per kind the caller may see."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers

from utilities.api import ApiViewSet
from utilities.pagination import StandardPagination

from ..engine import Search
from ..registry import kinds


class HitSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="agreement, engagement, organization, contact, city or network")
    id = serializers.IntegerField()
    title = serializers.CharField()
    snippet = serializers.CharField()
    url = serializers.CharField(help_text="The hit's page on the site.")
    rank = serializers.FloatField(help_text="Relevance: higher is better.")


class Hits:
    """The ranked hits as a sequence a paginator pages: counted per kind, read a page at a time."""

    def __init__(self, search: Search, total: int):
        self.search, self.total = search, total

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, window: slice):
        return self.search.hits(window.start or 0, (window.stop or self.total) - (window.start or 0))


class SearchPagination(StandardPagination):
    """A page of hits, with the matches per kind among the records the caller may see."""

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["counts"] = self.counts
        return response

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["counts"] = {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "Matches per kind, among the records the caller may see.",
        }
        paginated["required"] = [*paginated.get("required", []), "counts"]
        return paginated


class SearchViewSet(ApiViewSet):
    """Everything the caller may see, in one box: agreements, engagements, organisations, contacts
    (internal readers only), cities and networks, ranked by relevance, accents and case ignored."""

    serializer_class = HitSerializer
    pagination_class = SearchPagination

    # No model and no FilterSet of its own: each kind reads through the policy (search.kinds).
    queryset = None
    filter_backends = []

    def get_queryset(self):
        return None

    def allowed_query_params(self) -> set[str]:
        return super().allowed_query_params() | {"q", "kind"}

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description="Words to find (a prefix of each word)."),
            OpenApiParameter("kind", str, enum=[kind.name for kind in kinds()] or None, description="One kind only."),
        ],
        responses={200: HitSerializer(many=True)},
    )
    def list(self, request, *args, **kwargs):
        text = request.query_params.get("q", "")
        kind = request.query_params.get("kind")
        errors = {}
        if not text.strip():
            errors["q"] = ["Give the words to search for."]
        elif "\x00" in text or len(text) > 200:
            errors["q"] = ["Give at most 200 characters of text."]
        names = [k.name for k in kinds()]
        if kind is not None and kind not in names:
            errors["kind"] = [f"Choose one of: {', '.join(names)}."]
        if errors:
            raise exceptions.ValidationError(errors)
        search = Search(request.user, text, kind)
        paginator = self.paginator
        paginator.counts = search.counts
        page = paginator.paginate_queryset(Hits(search, search.total), request, view=self)
        return paginator.get_paginated_response(self.get_serializer(page, many=True).data)
