from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from accounts.policy import is_home_city
from cities.models import City, Country, InternationalAffairsOffice, Network, NetworkMembership, Organization, Topic
from cities.selectors import resolve_relations
from utilities.serializers import KeyListField, LabelField, OptionalLabelField, StrictModelSerializer, as_drf_error

HOME_CITY_ONLY = "You may only record this for your home cities."


def check_home_city(serializer, city):
    """Staff write only their home cities' records; naming another city is an error on the field."""
    if city is not None and not is_home_city(serializer.context["request"].user, city.pk):
        raise serializers.ValidationError(HOME_CITY_ONLY)
    return city


class CountrySerializer(StrictModelSerializer):
    class Meta:
        model = Country
        fields = ["iso2", "iso3", "name", "region", "subregion"]


class TopicSerializer(StrictModelSerializer):
    class Meta:
        model = Topic
        fields = ["slug", "name"]


class CityBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = City
        fields = ["id", "name", "slug", "country", "subdivision", "population", "latitude", "longitude"]


class OrganizationBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "kind", "country", "city", "website"]


class NetworkBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Network
        fields = ["slug", "name", "acronym", "website"]


class CitySerializer(StrictModelSerializer):
    country = serializers.SlugRelatedField(slug_field="iso2", queryset=Country.objects.all())
    country_name = LabelField(source="country.name")
    label = LabelField()
    expandable = {"country": CountrySerializer}

    class Meta:
        model = City
        fields = [
            "id",
            "name",
            "ascii_name",
            "slug",
            "label",
            "country",
            "country_name",
            "subdivision",
            "population",
            "latitude",
            "longitude",
            "timezone",
            "geonames_id",
        ]
        read_only_fields = ["ascii_name", "slug"]


class NetworkSerializer(StrictModelSerializer):
    headquarters = serializers.PrimaryKeyRelatedField(queryset=City.objects.all(), required=False, allow_null=True)
    headquarters_name = OptionalLabelField(source="headquarters.label")
    topics = KeyListField(key="slug")
    expandable = {"headquarters": CityBriefSerializer, "topics": TopicSerializer}

    class Meta:
        model = Network
        fields = [
            "slug",
            "name",
            "acronym",
            "founded_year",
            "headquarters",
            "headquarters_name",
            "website",
            "description",
            "topics",
        ]

    def validate_topics(self, slugs):
        try:
            return resolve_relations(topics=slugs)["topics"]
        except DjangoValidationError as error:
            raise as_drf_error(error) from error


class OfficeSerializer(StrictModelSerializer):
    city = serializers.PrimaryKeyRelatedField(queryset=City.objects.all())
    city_name = LabelField(source="city.label")
    expandable = {"city": CityBriefSerializer}

    class Meta:
        model = InternationalAffairsOffice
        fields = [
            "id",
            "city",
            "city_name",
            "name",
            "established_on",
            "head_name",
            "head_title",
            "staff_count",
            "website",
            "email",
            "phone",
            "mandate",
            "is_active",
        ]

    def validate_city(self, city):
        return check_home_city(self, city)


class OrganizationSerializer(StrictModelSerializer):
    kind_display = LabelField(source="get_kind_display")
    country = serializers.SlugRelatedField(
        slug_field="iso2", queryset=Country.objects.all(), required=False, allow_null=True
    )
    country_name = OptionalLabelField(source="country.name")
    city = serializers.PrimaryKeyRelatedField(queryset=City.objects.all(), required=False, allow_null=True)
    city_name = OptionalLabelField(source="city.label")
    expandable = {"country": CountrySerializer, "city": CityBriefSerializer}

    class Meta:
        model = Organization
        fields = ["id", "name", "kind", "kind_display", "country", "country_name", "city", "city_name", "website"]


class MembershipSerializer(StrictModelSerializer):
    network = serializers.SlugRelatedField(slug_field="slug", queryset=Network.objects.all())
    network_name = LabelField(source="network.name")
    city = serializers.PrimaryKeyRelatedField(queryset=City.objects.all())
    city_name = LabelField(source="city.label")
    role_display = LabelField(source="get_role_display")
    active = serializers.SerializerMethodField()
    expandable = {"network": NetworkBriefSerializer, "city": CityBriefSerializer}

    class Meta:
        model = NetworkMembership
        fields = [
            "id",
            "network",
            "network_name",
            "city",
            "city_name",
            "role",
            "role_display",
            "joined_on",
            "left_on",
            "active",
            "notes",
        ]
        # Uniqueness and date order are the model's rules, checked by the service.
        validators = []

    def get_active(self, membership) -> bool:
        return membership.left_on is None or membership.left_on > timezone.localdate()

    def validate_city(self, city):
        return check_home_city(self, city)
