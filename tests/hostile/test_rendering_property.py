"""Issue #13, property-based: any agreement or engagement the write path accepts renders with 200
on every page and API answer that shows it, its text intact (escaped in HTML, exact in JSON and
CSV). The write path may refuse data with a ValidationError; it may never raise anything else.

Each example runs in a savepoint that is rolled back, so every example starts from the same
database (the function-scoped `db` fixture's transaction, entered once)."""

import csv
import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.utils.html import escape
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engagements.models import Agreement, Engagement
from engagements.services import save_agreement, save_engagement
from tests import factories
from utilities.csv import unguard

pytestmark = pytest.mark.django_db

EXAMPLES = 40
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Text a person might type, and text built to break a page: right-to-left scripts, combining
# marks, emoji, markup, template syntax, format specifiers, quotes. Hypothesis' own text adds
# arbitrary Unicode (it never draws lone surrogates, which no form or JSON body can carry).
NASTY = [
    "<script>alert(1)</script>",
    "{{ request.user }}",
    "{% csrf_token %}",
    "%s %d %(name)s %%",
    "'\"`",
    "مرحبا بالعالم",
    "שלום עולם",
    "\u202etxt.exe",
    "e\u0301\u0301\u0301 Zalgo\u0336\u0337",
    "🇯🇵👩‍👩‍👧‍👦🏳️‍🌈",
    "São Paulo, Zürich, 北京, Kraków",
    '=HYPERLINK("http://evil.example")',
    "@cmd",
    "&amp; &lt; &#x27;",
    "\\u0000 \\x00",
    "a\tb\r\nc",
]
text = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=80),
    st.lists(st.sampled_from(NASTY) | st.text(max_size=10), max_size=4).map(" ".join),
)
title = text.filter(lambda value: value.strip() != "")
dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
VISIBILITIES = ["public", "internal", "restricted"]


def _choices(model, field):
    return [value for value, _ in model._meta.get_field(field).choices]


@pytest.fixture
def counterparts(db):
    return [
        factories.CityFactory(name="Nagoya", country=factories.country("JP"), subdivision="", population=2_300_000),
        factories.CityFactory(name="القاهرة", country=factories.country("CN"), subdivision="", population=9_500_000),
        factories.CityFactory(name="תל אביב", country=factories.country("BR"), subdivision="", population=460_000),
        factories.CityFactory(name="Kraków", country=factories.country("CH"), subdivision="", population=770_000),
        factories.CityFactory(
            name="<b>Bold</b> & {{ x }}", country=factories.country("NA"), subdivision="", population=20_000
        ),
    ]


def _in_savepoint(check):
    """Run `check` in a savepoint that is always rolled back."""
    with transaction.atomic():
        try:
            check()
        finally:
            transaction.set_rollback(True)


def _save(service, **kwargs):
    try:
        record = service(**kwargs)
    except ValidationError as error:
        event(f"refused: {sorted(error.message_dict)}")
        return None  # refused with a message: fine
    event("saved")
    return record


def _pages(client: Client, record, kind: str, city) -> dict[str, object]:
    return {
        "detail": client.get(f"/{kind}/{record.pk}/"),
        "list": client.get(f"/{kind}/"),
        "list_csv": client.get(f"/{kind}/?format=csv"),
        "city": client.get(f"/cities/{city.slug}/"),
        "dashboard": client.get("/dashboard/"),
        "desk": client.get("/"),
        "api_detail": client.get(f"/api/v1/{kind}/{record.pk}/"),
        "api_list": client.get(f"/api/v1/{kind}/"),
    }


def _content(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8")
    return response.content.decode("utf-8")


def _check_rendering(client, record, kind, city, texts: dict[str, str]):
    answers = _pages(client, record, kind, city)
    bodies = {}
    for name, response in answers.items():
        assert response.status_code == 200, (name, response.status_code)
        bodies[name] = _content(response)
    # HTML: escaped, never raw markup; the title on the detail page and the list exactly.
    for name in ("detail", "list"):
        assert escape(texts["title"]) in bodies[name], name
    assert escape(texts["summary"]) in bodies["detail"] or "\n" in texts["summary"] or "\r" in texts["summary"]
    for value in texts.values():
        if "<script>" in value:
            for name in ("detail", "list", "city", "desk"):
                assert "<script>alert(1)</script>" not in bodies[name], name
    # JSON: exact.
    detail = answers["api_detail"].json()
    for field, value in texts.items():
        assert detail[field] == value, field
    listed = [row for row in answers["api_list"].json()["results"] if row["id"] == record.pk]
    assert listed and listed[0]["title"] == texts["title"]
    # CSV: the same cells, back through the formula guard.
    rows = list(csv.DictReader(io.StringIO(bodies["list_csv"].lstrip("\ufeff"), newline="")))
    assert [unguard(row["title"]) for row in rows if row["id"] == str(record.pk)] == [texts["title"]]


@given(
    title=title,
    summary=text,
    venue=text,
    kind=st.sampled_from(_choices(Engagement, "kind")),
    status=st.sampled_from(_choices(Engagement, "status")),
    visibility=st.sampled_from(VISIBILITIES),
    start=dates,
    days=st.integers(min_value=0, max_value=400) | st.none(),
    picks=st.lists(st.integers(min_value=0, max_value=4), max_size=3, unique=True),
    federal=st.booleans(),
)
@HYPOTHESIS
def test_any_accepted_engagement_renders_everywhere(
    staff_a, city_a, counterparts, title, summary, venue, kind, status, visibility, start, days, picks, federal
):
    client = Client()
    client.force_login(staff_a)
    end = None if days is None else min(start + dt.timedelta(days=days), dt.date(2100, 12, 31))
    data = {
        "city": city_a,
        "title": title,
        "summary": summary,
        "venue": venue,
        "kind": kind,
        "status": status,
        "visibility": visibility,
        "start_date": start,
        "end_date": end,
        "counterpart_cities": [counterparts[i] for i in picks],
        "federal_coordination_requested": federal,
    }

    def check():
        engagement = _save(save_engagement, actor=staff_a, data=data)
        if engagement is None:
            return
        engagement.refresh_from_db()
        texts = {"title": engagement.title, "summary": engagement.summary, "venue": engagement.venue}
        assert texts == {"title": title, "summary": summary, "venue": venue}, "the write path changed the text"
        _check_rendering(client, engagement, "engagements", city_a, texts)

    _in_savepoint(check)


@given(
    title=title,
    summary=text,
    kind=st.sampled_from(_choices(Agreement, "kind")),
    status=st.sampled_from(_choices(Agreement, "status")),
    visibility=st.sampled_from(VISIBILITIES),
    signed=dates | st.none(),
    days=st.integers(min_value=0, max_value=20_000) | st.none(),
    picks=st.lists(st.integers(min_value=0, max_value=4), max_size=3, unique=True),
)
@HYPOTHESIS
def test_any_accepted_agreement_renders_everywhere(
    staff_a, city_a, counterparts, title, summary, kind, status, visibility, signed, days, picks
):
    client = Client()
    client.force_login(staff_a)
    expires = None if signed is None or days is None else min(signed + dt.timedelta(days=days), dt.date(2100, 12, 31))
    data = {
        "city": city_a,
        "title": title,
        "summary": summary,
        "kind": kind,
        "status": status,
        "visibility": visibility,
        "signed_on": signed,
        "expires_on": expires,
        "counterpart_cities": [counterparts[i] for i in picks],
    }

    def check():
        agreement = _save(save_agreement, actor=staff_a, data=data)
        if agreement is None:
            return
        agreement.refresh_from_db()
        texts = {"title": agreement.title, "summary": agreement.summary}
        assert texts == {"title": title, "summary": summary}, "the write path changed the text"
        _check_rendering(client, agreement, "agreements", city_a, texts)

    _in_savepoint(check)
