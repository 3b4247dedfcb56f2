from rest_framework import serializers

from cities.api.serializers import CityBriefSerializer, CountrySerializer, check_home_city
from cities.models import City, Country
from contacts.models import Contact
from utilities.serializers import LabelField, OptionalLabelField, StrictModelSerializer


class ContactSerializer(StrictModelSerializer):
    home_city = serializers.PrimaryKeyRelatedField(
        queryset=City.objects.all(), help_text="The home city whose staff keep this contact."
    )
    home_city_name = LabelField(source="home_city.label")
    city = serializers.PrimaryKeyRelatedField(queryset=City.objects.all(), required=False, allow_null=True)
    city_name = OptionalLabelField(source="city.label")
    country = serializers.SlugRelatedField(
        slug_field="iso2", queryset=Country.objects.all(), required=False, allow_null=True
    )
    country_name = OptionalLabelField(source="country.name")
    confirm_duplicate = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="A new contact with the name and organisation of one the home city already keeps is "
        "refused (400) unless this is true.",
    )
    expandable = {"home_city": CityBriefSerializer, "city": CityBriefSerializer, "country": CountrySerializer}

    class Meta:
        model = Contact
        fields = [
            "id",
            "name",
            "title",
            "organization",
            "city",
            "city_name",
            "country",
            "country_name",
            "email",
            "phone",
            "languages",
            "notes",
            "home_city",
            "home_city_name",
            "confirm_duplicate",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = ["created_at", "updated_at", "version"]

    def validate_home_city(self, city):
        return check_home_city(self, city)
