"""Global search (SPEC §8.1): one box over what the user may see, ranked, accents ignored; each hit
names its kind and links to its page; counts count only visible records."""

import pytest
from rest_framework.test import APIClient

from contacts.models import Contact
from engagements.services import save_agreement, save_engagement
from search.engine import Search
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(cast, city_a, city_b, foreign_city):
    goethe = factories.OrganizationFactory(name="Goethe-Institut Tokyo", kind="ngo", country=factories.country("DE"))
    made = {}
    for name, city, visibility, title, summary in (
        ("public", city_a, "public", "Water forum in Querétaro", "Drought resilience with Mexican cities."),
        ("internal", city_a, "internal", "Trade mission", "Port logistics and the Querétaro aerospace cluster."),
        ("restricted_b", city_b, "restricted", "Querétaro briefing", "Sensitive."),
    ):
        made[name] = save_engagement(
            actor=cast["admin"],
            data={
                "city": city,
                "title": title,
                "summary": summary,
                "kind": "conference",
                "status": "planned",
                "start_date": "2026-05-01",
                "visibility": visibility,
                "counterpart_cities": [foreign_city],
                "counterpart_organizations": [goethe],
            },
        )
    made["agreement"] = save_agreement(
        actor=cast["admin"],
        data={
            "city": city_a,
            "title": "Sister cities: Los Angeles and Nagoya",
            "kind": "sister_city",
            "status": "active",
            "visibility": "internal",
            "counterpart_cities": [foreign_city],
        },
    )
    made["goethe"] = goethe
    made["contact"] = Contact.objects.create(home_city=city_a, name="Zoë Querétaro-Núñez", organization="Consulate")
    return made


def hits(user, text, kind=None):
    search = Search(user, text, kind)
    return [(hit.kind, hit.id) for hit in search.hits(0, 100)], search.counts


def test_a_word_finds_records_with_or_without_accents_title_first(cast, records):
    for text in ("Querétaro", "queretaro", "QUERETARO"):
        found, counts = hits(cast["staff_a"], text)
        engagements = [pk for kind, pk in found if kind == "engagement"]
        # The title hit ranks above the summary hit; staff of city A never see B's restricted one.
        assert engagements == [records["public"].pk, records["internal"].pk], text
        assert counts["engagement"] == 2
        assert ("contact", records["contact"].pk) in found


def test_a_counterpart_finds_the_records_it_is_on(cast, records):
    found, counts = hits(cast["liaison"], "Nagoya")
    assert ("agreement", records["agreement"].pk) in found
    assert counts["engagement"] == 3
    assert ("city", records["agreement"].counterpart_cities.get().pk) in found
    found, _ = hits(cast["liaison"], "goethe")
    assert ("organization", records["goethe"].pk) in found
    assert {pk for kind, pk in found if kind == "engagement"} == {
        records[name].pk for name in ("public", "internal", "restricted_b")
    }


def test_every_word_must_match(cast, records):
    found, _ = hits(cast["liaison"], "trade queretaro")
    assert [pk for kind, pk in found if kind == "engagement"] == [records["internal"].pk]
    assert hits(cast["liaison"], "trade zanzibar")[0] == []


def test_the_public_and_partners_find_public_records_and_no_people(client, cast, records):
    found, counts = hits(cast["partner"], "queretaro")
    assert [pk for kind, pk in found if kind == "engagement"] == [records["public"].pk]
    assert "contact" not in counts
    page = client.get("/search/", {"q": "queretaro"}).content.decode()
    assert "Water forum" in page and "Trade mission" not in page and "briefing" not in page
    assert "Núñez" not in page and 'data-kind="contact"' not in page
    assert f'href="/engagements/{records["public"].pk}/"' in page


def test_the_api_pages_ranked_hits_with_kind_link_and_counts(cast, records):
    client = APIClient()
    client.force_authenticate(cast["staff_a"])
    body = client.get("/api/v1/search/", {"q": "queretaro", "page_size": 2}).json()
    assert body["count"] == sum(body["counts"].values()) == 3  # two engagements and a contact
    assert len(body["results"]) == 2 and body["next"]
    first = body["results"][0]
    assert set(first) == {"kind", "id", "title", "snippet", "url", "rank"}
    assert body["results"][0]["rank"] >= body["results"][1]["rank"]
    one_kind = client.get("/api/v1/search/", {"q": "queretaro", "kind": "engagement"}).json()
    assert {hit["kind"] for hit in one_kind["results"]} == {"engagement"} and one_kind["count"] == 2


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "x", "kind": "people"}, {"q": "x", "colour": "red"}])
def test_the_api_refuses_a_bad_query_with_a_400(cast, params):
    client = APIClient()
    client.force_authenticate(cast["liaison"])
    response = client.get("/api/v1/search/", params)
    assert response.status_code == 400


def test_the_page_has_an_empty_state_and_the_header_a_search_box(client, cast):
    client.force_login(cast["staff_a"])
    page = client.get("/search/").content.decode()
    assert 'role="search"' in page and 'id="site-search-q"' in page
    assert "Type a word" in page
    assert 'id="site-search-q"' in client.get("/engagements/").content.decode()
    assert "Nothing you may see matches" in client.get("/search/", {"q": "zanzibar"}).content.decode()


def test_the_search_costs_the_same_queries_whatever_it_finds(
    client, cast, records, city_a, django_assert_max_num_queries
):
    client.force_login(cast["liaison"])
    client.get("/search/", {"q": "queretaro"})
    for number in range(15):
        save_engagement(
            actor=cast["admin"],
            data={
                "city": city_a,
                "title": f"Querétaro visit {number}",
                "kind": "other",
                "status": "planned",
                "start_date": "2026-06-01",
            },
        )
    # The session, the user, one count per kind (6), the page, the records of each kind on it
    # (at most 6), the page header's unread notifications and home cities.
    with django_assert_max_num_queries(18):
        response = client.get("/search/", {"q": "queretaro"})
    assert response.content.decode().count('data-kind="engagement"><span') == 18
