"""The review queue searches and filters as the lists do, and its counts follow each decision
made in place (SPEC §8.1)."""

import re

import pytest
from django.urls import reverse

from . import test_review_queue
from .pagetext import text_of
from .test_review_queue import titles

pytestmark = pytest.mark.django_db

# The review queue's own fixture: four engagements in Los Angeles (one reviewed), one in Chicago.
queue = test_review_queue.queue


def count_of(html: str) -> int:
    return int(re.search(r'data-testid="queue-count"[^>]*>(\d+)<', html)[1])


def per_state(html: str) -> dict[str, int]:
    section = html[html.index('id="review-per-state"') :]
    section = section[: section.index("</section>")]
    return {
        re.sub(r"<[^>]+>", "", label).strip(): int(count)
        for label, count in re.findall(r'<th scope="row">(.*?)</th><td class="num">(\d+)</td>', section)
    }


def test_the_queue_has_the_lists_text_search(client, queue, liaison):
    client.force_login(liaison)
    html = client.get(reverse("review"), {"q": "federal"}).content.decode()
    assert titles(html) == ["Federal request"]
    assert count_of(html) == 1
    assert 'name="q"' in html and 'value="federal"' in html


def test_the_search_ignores_case_as_the_lists_do(client, queue, liaison):
    client.force_login(liaison)
    html = client.get(reverse("review"), {"q": "CHICAGO"}).content.decode()
    assert titles(html) == ["Chicago meeting"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"federal_coordination_requested": "true"}, ["Federal request"]),
        ({"counterpart_country": "DE"}, ["Watched counterpart"]),
        ({"status": "cancelled"}, []),
    ],
)
def test_the_queue_takes_the_lists_filters(client, queue, liaison, params, expected):
    client.force_login(liaison)
    html = client.get(reverse("review"), params).content.decode()
    assert titles(html) == expected
    assert count_of(html) == len(expected)


def test_the_city_filter_lists_home_cities_and_narrows_the_queue(client, queue, liaison, city_b, staff_b):
    client.force_login(liaison)
    html = client.get(reverse("review"), {"city": city_b.pk}).content.decode()
    assert titles(html) == ["Chicago meeting"]
    assert f'<option value="{city_b.pk}" selected>' in html


def test_a_decision_in_place_refreshes_the_count_and_the_per_state_table(client, queue, liaison):
    client.force_login(liaison)
    page = client.get(reverse("review"), {"state": "US-CA"}).content.decode()
    assert count_of(page) == 3
    response = client.post(
        reverse("review-engagement", args=[queue["plain"].pk]),
        {"decision": "acknowledged", "comment": "", "next": "/review/?state=US-CA"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="review-row-{queue["plain"].pk}"')
    assert "Acknowledged" in text_of(html, "review-status")
    # Out of band: the count of the queue as filtered on the page, and the per-state table
    # (every filter but the state).
    assert re.search(r'<strong id="review-queue-count" data-testid="queue-count" hx-swap-oob="true">2</strong>', html)
    assert 'id="review-per-state" class="panel per-state" hx-swap-oob="true"' in html
    counts = per_state(html)
    assert sum(counts.values()) == 3  # two left in California, one in Illinois
    assert per_state(client.get(reverse("review")).content.decode()) == counts


def test_a_refused_decision_leaves_the_counts_as_they_were(client, queue, liaison):
    client.force_login(liaison)
    html = client.post(
        reverse("review-engagement", args=[queue["plain"].pk]),
        {"decision": "approved", "next": "/review/"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert count_of(html) == 4
