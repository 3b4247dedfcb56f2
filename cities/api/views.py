from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from cities import services
from cities.filters import CityFilterSet, MembershipFilterSet, OfficeFilterSet, OrganizationFilterSet
from cities.models import City, Country, InternationalAffairsOffice, Network, NetworkMembership, Organization, Topic
from utilities.api import ApiViewSet, CreateMixin, DestroyMixin, PartialUpdateMixin

from .serializers import (
    CitySerializer,
    CountrySerializer,
    MembershipSerializer,
    NetworkSerializer,
    OfficeSerializer,
    OrganizationSerializer,
    TopicSerializer,
)

SLUG_IN_URL = r"[-a-zA-Z0-9_]{1,80}"

# Reads every field of a city but its alternate names, which only reference matching uses.
CITY_COLUMNS_DEFERRED = ("alternate_names", "search_name")


class CountryViewSet(mixins.RetrieveModelMixin, ApiViewSet):
    """ISO 3166-1 countries, looked up by `iso2` (e.g. `/countries/JP/`)."""

    queryset = Country.objects.order_by("name", "iso2")
    serializer_class = CountrySerializer
    lookup_field = "iso2"
    lookup_value_regex = r"[A-Za-z]{2}"
    csv_filename = "countries.csv"

    def get_object(self):
        self.kwargs["iso2"] = self.kwargs["iso2"].upper()
        return super().get_object()


class TopicViewSet(mixins.RetrieveModelMixin, ApiViewSet):
    """The fixed topic taxonomy, looked up by `slug`."""

    queryset = Topic.objects.order_by("name", "pk")
    serializer_class = TopicSerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG_IN_URL
    csv_filename = "topics.csv"


class CityViewSet(CreateMixin, PartialUpdateMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Cities; `q` finds a word start of any of their names (accents ignored), largest first. Admins
    add and correct cities."""

    queryset = (
        City.objects.select_related("country").defer(*CITY_COLUMNS_DEFERRED).order_by("-population", "name", "pk")
    )
    serializer_class = CitySerializer
    filterset_class = CityFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]
    csv_filename = "cities.csv"

    def perform_write(self, serializer, instance):
        return services.save_city(actor=self.request.user, data=serializer.validated_data, city=instance)


class NetworkViewSet(CreateMixin, PartialUpdateMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """City networks, looked up by `slug`. Admins maintain them."""

    queryset = (
        Network.objects.select_related("headquarters")
        .defer(*(f"headquarters__{c}" for c in CITY_COLUMNS_DEFERRED))
        .prefetch_related("topics")
        .order_by("name", "pk")
    )
    serializer_class = NetworkSerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG_IN_URL
    http_method_names = ["get", "post", "patch", "head", "options"]
    csv_filename = "networks.csv"

    def perform_write(self, serializer, instance):
        return services.save_network(actor=self.request.user, data=serializer.validated_data, network=instance)


class OfficeViewSet(CreateMixin, PartialUpdateMixin, DestroyMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Cities' international-affairs offices; their city's staff keep them."""

    queryset = (
        InternationalAffairsOffice.objects.select_related("city")
        .defer(*(f"city__{c}" for c in CITY_COLUMNS_DEFERRED))
        .order_by("city__name", "pk")
    )
    serializer_class = OfficeSerializer
    filterset_class = OfficeFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    csv_filename = "offices.csv"

    def perform_write(self, serializer, instance):
        return services.save_office(actor=self.request.user, data=serializer.validated_data, office=instance)

    def perform_delete(self, instance):
        services.delete_office(actor=self.request.user, office=instance)


class OrganizationViewSet(CreateMixin, PartialUpdateMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Counterparts that are not cities; staff and admins add and correct them."""

    queryset = (
        Organization.objects.select_related("country", "city")
        .defer(*(f"city__{c}" for c in CITY_COLUMNS_DEFERRED))
        .order_by("name", "pk")
    )
    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]
    csv_filename = "organizations.csv"

    def perform_write(self, serializer, instance):
        return services.save_organization(
            actor=self.request.user, data=serializer.validated_data, organization=instance
        )


@extend_schema_view(list=extend_schema(description="Network memberships; `active` means not left, or leaving later."))
class MembershipViewSet(CreateMixin, PartialUpdateMixin, DestroyMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Cities' network memberships; their city's staff keep them."""

    queryset = (
        NetworkMembership.objects.select_related("network", "city")
        .defer(*(f"city__{c}" for c in CITY_COLUMNS_DEFERRED))
        .order_by("network__name", "city__name", "pk")
    )
    serializer_class = MembershipSerializer
    filterset_class = MembershipFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    csv_filename = "memberships.csv"

    def perform_write(self, serializer, instance):
        return services.save_membership(actor=self.request.user, data=serializer.validated_data, membership=instance)

    def perform_delete(self, instance):
        services.delete_membership(actor=self.request.user, membership=instance)
