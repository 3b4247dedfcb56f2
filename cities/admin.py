from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    City,
    Country,
    InternationalAffairsOffice,
    Network,
    NetworkMembership,
    Organization,
    Topic,
    WatchedCountry,
)


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ["iso2", "iso3", "name", "region", "subregion"]
    list_filter = ["region"]
    search_fields = ["iso2", "iso3", "name"]


@admin.register(City)
class CityAdmin(SimpleHistoryAdmin):
    list_display = ["name", "country", "subdivision", "population", "geonames_id"]
    list_filter = ["country__region"]
    search_fields = ["name", "ascii_name", "geonames_id", "slug"]
    autocomplete_fields = ["country"]
    show_full_result_count = False


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["slug", "name"]
    search_fields = ["slug", "name"]


@admin.register(Network)
class NetworkAdmin(SimpleHistoryAdmin):
    list_display = ["name", "acronym", "founded_year", "headquarters"]
    search_fields = ["name", "acronym", "slug"]
    autocomplete_fields = ["headquarters"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(WatchedCountry)
class WatchedCountryAdmin(SimpleHistoryAdmin):
    list_display = ["country", "reason", "added_at"]
    search_fields = ["country__name", "reason"]
    autocomplete_fields = ["country"]


@admin.register(InternationalAffairsOffice)
class OfficeAdmin(SimpleHistoryAdmin):
    list_display = ["name", "city", "head_name", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "city__name", "head_name"]
    autocomplete_fields = ["city"]


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "country", "city"]
    list_filter = ["kind"]
    search_fields = ["name"]
    autocomplete_fields = ["country", "city"]


@admin.register(NetworkMembership)
class NetworkMembershipAdmin(SimpleHistoryAdmin):
    list_display = ["city", "network", "role", "joined_on", "left_on"]
    list_filter = ["network", "role"]
    search_fields = ["city__name", "network__name"]
    autocomplete_fields = ["city", "network"]
