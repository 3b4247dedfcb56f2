"""Type-ahead endpoints, inline organisations, memberships and the office profile."""

import pytest
from django.test import Client
from django.urls import reverse

from cities.models import InternationalAffairsOffice, NetworkMembership, Organization
from tests import factories

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- Type-ahead --------------------------------------------------------------------------------


def test_city_search_matches_the_start_of_names_largest_first(staff_a, django_assert_max_num_queries):
    factories.CityFactory(name="Portland", subdivision="US-ME", population=68_000)
    factories.CityFactory(name="Portland", subdivision="US-OR", population=650_000)
    factories.CityFactory(name="Porto", country=factories.country("DE"), subdivision="", population=230_000)
    factories.CityFactory(name="Oporto Village", population=900_000)
    client = client_for(staff_a)
    client.get(reverse("city-search"), {"q": "x"})
    # session, user, the cities with their countries, session save (savepoint, update, release)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("city-search"), {"counterpart_cities_query": "port"})
    labels = [obj.label for obj in response.context["results"]]
    assert labels == ["Portland, US-OR", "Porto, DE", "Portland, US-ME"]
    html = response.content.decode()
    assert 'role="option"' in html and 'id="id_counterpart_cities_listbox-opt-' in html


def test_city_search_folds_accents(staff_a):
    factories.CityFactory(name="Kraków", country=factories.country("DE"), subdivision="", population=800_000)
    response = client_for(staff_a).get(reverse("city-search"), {"q": "krak"})
    assert [c.name for c in response.context["results"]] == ["Kraków"]


def test_city_search_says_when_nothing_matches(staff_a):
    response = client_for(staff_a).get(reverse("city-search"), {"q": "<zzz>"})
    assert "No match for “&lt;zzz&gt;”" in response.content.decode()


def test_type_ahead_needs_sign_in(db):
    assert Client().get(reverse("city-search"), {"q": "a"}).status_code == 302


def test_organization_search(staff_a):
    factories.OrganizationFactory(name="Japan External Trade Organization")
    factories.OrganizationFactory(name="Goethe-Institut")
    response = client_for(staff_a).get(reverse("organization-search"), {"counterpart_organizations_query": "trade jap"})
    assert [o.name for o in response.context["results"]] == ["Japan External Trade Organization"]


# --- Inline organisations -------------------------------------------------------------------


def test_inline_organisation_by_htmx_returns_a_chip_for_the_form(staff_a):
    factories.country("JP")
    response = client_for(staff_a).post(
        reverse("organization-create"),
        {"organization-name": "JETRO Los Angeles", "organization-kind": "company", "organization-country": "JP"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    organization = Organization.objects.get()
    html = response.content.decode()
    assert 'hx-swap-oob="beforeend:#id_counterpart_organizations_chips"' in html
    assert f'name="counterpart_organizations" value="{organization.pk}" checked' in html
    assert "Added “JETRO Los Angeles”" in html


def test_inline_organisation_reuses_one_of_the_same_name(staff_a):
    existing = factories.OrganizationFactory(name="Goethe-Institut", country=factories.country("DE"))
    client_for(staff_a).post(
        reverse("organization-create"),
        {"organization-name": "goethe-institut", "organization-kind": "ngo", "organization-country": "DE"},
        HTTP_HX_REQUEST="true",
    )
    assert list(Organization.objects.all()) == [existing]


def test_inline_organisation_errors_come_back_in_the_panel(staff_a):
    response = client_for(staff_a).post(
        reverse("organization-create"), {"organization-name": "", "organization-kind": ""}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Organization.objects.exists()


@pytest.mark.parametrize("who", ["liaison", "partner"])
def test_only_staff_create_organisations(cast, who):
    response = client_for(cast[who]).post(
        reverse("organization-create"), {"organization-name": "X", "organization-kind": "ngo"}
    )
    assert response.status_code == 403


def test_organisation_page_without_javascript(staff_a):
    client = client_for(staff_a)
    assert client.get(reverse("organization-create")).status_code == 200
    response = client.post(
        reverse("organization-create"), {"organization-name": "UCLA", "organization-kind": "university"}
    )
    assert response.status_code == 302
    assert Organization.objects.get().name == "UCLA"


# --- Memberships ------------------------------------------------------------------------------


@pytest.fixture
def network(db):
    return factories.NetworkFactory(slug="c40", name="C40 Cities", acronym="C40")


def test_staff_add_a_membership_of_their_city(staff_a, city_a, network):
    response = client_for(staff_a).post(
        reverse("membership-create"),
        {
            "city": city_a.pk,
            "network": network.pk,
            "role": "steering_committee",
            "joined_on": "2006-10-01",
            "left_on": "",
            "notes": "",
        },
    )
    membership = NetworkMembership.objects.get()
    assert response["Location"] == reverse("membership-detail", args=[membership.pk])
    assert membership.role == "steering_committee"


def test_membership_cannot_end_before_it_began(staff_a, city_a, network):
    response = client_for(staff_a).post(
        reverse("membership-create"),
        {
            "city": city_a.pk,
            "network": network.pk,
            "role": "member",
            "joined_on": "2020-01-01",
            "left_on": "2019-01-01",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["left_on"] == ["The membership cannot end before it began."]
    assert not NetworkMembership.objects.exists()


def test_staff_cannot_add_a_membership_for_another_city(staff_a, city_b, network):
    response = client_for(staff_a).post(
        reverse("membership-create"), {"city": city_b.pk, "network": network.pk, "role": "member"}
    )
    assert response.status_code == 200
    assert "city" in response.context["form"].errors
    assert not NetworkMembership.objects.exists()


def test_membership_pages_follow_the_policy(cast, city_a, network):
    membership = factories.MembershipFactory(city=city_a, network=network)
    expected = {"staff_a": 200, "staff_b": 403, "liaison": 403, "partner": 403, "admin": 200}
    for who, status in expected.items():
        client = client_for(cast[who])
        assert client.get(reverse("membership-detail", args=[membership.pk])).status_code == 200
        assert client.get(reverse("membership-edit", args=[membership.pk])).status_code == status, who
    assert client_for(cast["liaison"]).get(reverse("membership-create")).status_code == 403


def test_membership_edit_records_history(staff_a, city_a, network):
    membership = factories.MembershipFactory(city=city_a, network=network)
    client = client_for(staff_a)
    client.post(
        reverse("membership-edit", args=[membership.pk]),
        {"city": city_a.pk, "network": network.pk, "role": "chair", "joined_on": "", "left_on": "", "notes": ""},
    )
    response = client.get(reverse("membership-detail", args=[membership.pk]))
    changes = {c["label"]: (c["old"], c["new"]) for c in response.context["history"][0]["changes"]}
    assert changes["Role"] == ("Member", "Chair")


def test_membership_list_filters_and_exports(staff_a, city_a, city_b, network):
    factories.MembershipFactory(city=city_a, network=network, notes="=cmd|' /C calc'!A0")
    factories.MembershipFactory(city=city_b, network=factories.NetworkFactory(slug="iclei", name="ICLEI"))
    client = client_for(staff_a)
    response = client.get(reverse("membership-list"), {"network": "c40"})
    assert response.context["count"] == 1
    export = client.get(reverse("membership-list"), {"network": "c40", "format": "csv"})
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "'=cmd" in text and "ICLEI" not in text


# --- Office profile ---------------------------------------------------------------------------


def test_staff_create_and_edit_their_office_profile(staff_a, city_a):
    client = client_for(staff_a)
    assert client.get(reverse("my-office"))["Location"] == reverse("office-edit", args=[city_a.slug])
    response = client.post(
        reverse("office-edit", args=[city_a.slug]),
        {
            "name": "Mayor's Office of International Affairs",
            "head_name": "Ana Ruiz",
            "staff_count": "12",
            "is_active": "on",
            "website": "",
            "email": "bad-address",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert 'value="Ana Ruiz"' in response.content.decode()
    response = client.post(
        reverse("office-edit", args=[city_a.slug]),
        {
            "name": "Mayor's Office of International Affairs",
            "head_name": "Ana Ruiz",
            "staff_count": "12",
            "is_active": "on",
            "website": "",
            "email": "intl@lacity.example",
        },
    )
    assert response.status_code == 302
    office = InternationalAffairsOffice.objects.get(city=city_a)
    assert office.head_name == "Ana Ruiz" and office.staff_count == 12


def test_staff_cannot_edit_another_citys_office(staff_b, city_a):
    factories.OfficeFactory(city=city_a)
    client = client_for(staff_b)
    assert client.get(reverse("office-edit", args=[city_a.slug])).status_code == 403
    assert client.post(reverse("office-edit", args=[city_a.slug]), {"name": "Taken over"}).status_code == 403
    assert InternationalAffairsOffice.objects.get().name == "Mayor's Office of International Affairs"
