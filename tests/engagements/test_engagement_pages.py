"""The engagement pages: logging, editing, the list with its filters and export, the detail page
with history, and who may open what (the cast of tests/conftest.py)."""

import csv
import datetime as dt
import io
import re

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from engagements.desk import staff_desk
from engagements.models import Engagement
from engagements.services import save_engagement
from tests import factories

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def form_data(city, **overrides):
    """What the browser sends for a filled-in engagement form (no participants)."""
    data = {
        "city": city.pk,
        "title": "Delegation from Nagoya",
        "kind": "inbound_delegation",
        "status": "completed",
        "start_date": "2026-05-04",
        "end_date": "",
        "location_city_query": "",
        "venue": "City Hall",
        "counterpart_cities_query": "",
        "counterpart_organizations_query": "",
        "summary": "",
        "outcomes": "",
        "agreement": "",
        "visibility": "internal",
        "participants-TOTAL_FORMS": "1",
        "participants-INITIAL_FORMS": "0",
        "participants-MIN_NUM_FORMS": "0",
        "participants-MAX_NUM_FORMS": "1000",
        "participants-0-name": "",
        "participants-0-title": "",
        "participants-0-organization": "",
        "participants-0-side": "home",
    }
    data.update(overrides)
    return data


@pytest.fixture
def own_engagement(staff_a, city_a, foreign_city):
    return save_engagement(
        actor=staff_a,
        data={
            "city": city_a,
            "title": "Sister-city visit",
            "kind": "bilateral_meeting",
            "status": "planned",
            "start_date": dt.date(2026, 6, 1),
            "counterpart_cities": [foreign_city],
        },
    )


@pytest.fixture
def restricted_of_b(staff_b, city_b):
    return save_engagement(
        actor=staff_b,
        data={
            "city": city_b,
            "title": "Confidential talks",
            "kind": "bilateral_meeting",
            "status": "planned",
            "start_date": dt.date(2026, 6, 2),
            "visibility": "restricted",
        },
    )


# --- Logging ----------------------------------------------------------------------------------


def test_new_engagement_form_starts_from_the_home_city_today_and_internal(staff_a, city_a):
    response = client_for(staff_a).get(reverse("engagement-create"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["city"].value() == city_a.pk
    assert form["start_date"].value() == timezone.localdate()
    assert form["visibility"].value() == "internal"
    html = response.content.decode()
    assert f"For <strong>{city_a}</strong>" in html
    # Every visible input has a label.
    for name in ("title", "kind", "status", "start_date", "end_date", "venue", "summary", "outcomes", "agreement"):
        assert f'<label for="id_{name}"' in html
    assert '<label for="id_counterpart_cities_query"' in html
    assert '<label for="id_location_city_query"' in html


def test_staff_log_an_engagement_with_a_typed_city_and_an_inline_organisation(staff_a, city_a, foreign_city):
    factories.topic("trade-investment")
    response = client_for(staff_a).post(
        reverse("engagement-create"),
        form_data(
            city_a,
            counterpart_cities_query="Nagoya, JP",
            location_city=str(city_a.pk),
            topics=["trade-investment"],
            **{
                "organization-name": "Consulate-General of Japan",
                "organization-kind": "embassy_consulate",
                "organization-country": "JP",
                "participants-0-name": "Mayor Kawamura",
                "participants-0-side": "counterpart",
            },
        ),
    )
    assert response.status_code == 302
    engagement = Engagement.objects.get(title="Delegation from Nagoya")
    assert response["Location"] == reverse("engagement-detail", args=[engagement.pk])
    assert engagement.created_by == staff_a and engagement.city == city_a
    assert list(engagement.counterpart_cities.all()) == [foreign_city]
    assert [o.name for o in engagement.counterpart_organizations.all()] == ["Consulate-General of Japan"]
    assert engagement.location_city == city_a
    assert [t.slug for t in engagement.topics.all()] == ["trade-investment"]
    assert [(p.name, p.side) for p in engagement.participants.all()] == [("Mayor Kawamura", "counterpart")]


def test_errors_are_shown_beside_the_field_and_everything_typed_is_kept(staff_a, city_a, foreign_city):
    response = client_for(staff_a).post(
        reverse("engagement-create"),
        form_data(
            city_a,
            title="",
            start_date="2026-05-04",
            end_date="2026-05-01",
            counterpart_cities=[str(foreign_city.pk)],
            summary="Talked about <b>trade</b>",
            **{"organization-name": "Toyota", "organization-kind": "company", "participants-0-name": "Ms Sato"},
        ),
    )
    assert response.status_code == 200
    assert not Engagement.objects.exists()
    form = response.context["form"]
    assert form.errors["title"] == ["This field is required."]
    assert form.errors["end_date"] == ["The end date cannot be before the start date."]
    html = response.content.decode()
    # The message sits next to its field and the field says it is invalid.
    assert 'id="id_title_error"' in html and 'aria-invalid="true"' in html
    # Nothing typed is lost: the chosen city, the summary, the new organisation, the participant.
    assert f'value="{foreign_city.pk}" checked' in html
    assert "Talked about &lt;b&gt;trade&lt;/b&gt;" in html
    assert 'value="Toyota"' in html and 'value="Ms Sato"' in html
    assert "Nothing was saved yet" in html


def test_an_ambiguous_typed_city_offers_the_candidates(staff_a, city_a):
    factories.CityFactory(name="Springfield", subdivision="US-IL", population=114_000)
    factories.CityFactory(name="Springfield", subdivision="US-MO", population=169_000)
    response = client_for(staff_a).post(
        reverse("engagement-create"), form_data(city_a, counterpart_cities_query="Springfield, US")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "could be several cities" in html
    assert "Springfield, US-IL" in html and "Springfield, US-MO" in html
    assert 'value="Springfield, US"' in html


def test_a_counterpart_cannot_be_the_home_city(staff_a, city_a):
    response = client_for(staff_a).post(
        reverse("engagement-create"), form_data(city_a, counterpart_cities=[str(city_a.pk)])
    )
    assert response.status_code == 200
    assert "cannot be a counterpart" in response.context["form"].errors["counterpart_cities"][0]


def test_staff_cannot_log_for_another_city(staff_a, city_b):
    response = client_for(staff_a).post(reverse("engagement-create"), form_data(city_b))
    assert response.status_code == 200
    assert "city" in response.context["form"].errors
    assert not Engagement.objects.exists()


@pytest.mark.parametrize("who", ["liaison", "partner"])
def test_people_without_a_home_city_cannot_open_the_logging_form(cast, who):
    assert client_for(cast[who]).get(reverse("engagement-create")).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(db):
    response = Client().get(reverse("engagement-create"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_form_refuses_a_post_without_the_csrf_token(staff_a, city_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_a)
    response = client.post(reverse("engagement-create"), form_data(city_a))
    assert response.status_code == 403
    assert not Engagement.objects.exists()


def test_the_form_accepts_a_post_with_the_csrf_token(staff_a, city_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_a)
    token = client.get(reverse("engagement-create")).context["csrf_token"]
    response = client.post(reverse("engagement-create"), form_data(city_a, csrfmiddlewaretoken=str(token)))
    assert response.status_code == 302
    assert Engagement.objects.count() == 1


# --- Editing ----------------------------------------------------------------------------------


def test_edit_form_carries_the_version_and_saves_changes(staff_a, city_a, own_engagement):
    client = client_for(staff_a)
    response = client.get(reverse("engagement-edit", args=[own_engagement.pk]))
    assert response.status_code == 200
    assert response.context["form"]["version"].value() == own_engagement.version
    response = client.post(
        reverse("engagement-edit", args=[own_engagement.pk]),
        form_data(city_a, title="Sister-city visit (rescheduled)", version=str(own_engagement.version)),
    )
    assert response.status_code == 302
    own_engagement.refresh_from_db()
    assert own_engagement.title == "Sister-city visit (rescheduled)"
    assert own_engagement.version == 2


def test_a_stale_edit_is_refused_with_what_changed_and_the_input_kept(staff_a, city_a, own_engagement):
    colleague = factories.UserFactory(username="carol", first_name="Carol", last_name="Ng", home_cities=[city_a])
    save_engagement(actor=colleague, engagement=own_engagement, data={"title": "Visit moved to July"})
    response = client_for(staff_a).post(
        reverse("engagement-edit", args=[own_engagement.pk]),
        form_data(city_a, title="My better title", version="1"),
    )
    assert response.status_code == 200
    own_engagement.refresh_from_db()
    assert own_engagement.title == "Visit moved to July"
    html = response.content.decode()
    assert "Carol Ng saved this engagement while you were editing" in html
    changes = {c["field"]: (c["theirs"], c["yours"]) for c in response.context["conflict"]["changes"]}
    assert changes["title"] == ("Visit moved to July", "My better title")
    assert 'value="My better title"' in html
    # Saving again from here is a deliberate overwrite of the version just shown.
    assert response.context["form"]["version"].value() == "2"


def test_saving_again_after_the_conflict_keeps_my_version(staff_a, city_a, own_engagement):
    colleague = factories.UserFactory(username="carol", home_cities=[city_a])
    save_engagement(actor=colleague, engagement=own_engagement, data={"title": "Visit moved to July"})
    client = client_for(staff_a)
    client.post(reverse("engagement-edit", args=[own_engagement.pk]), form_data(city_a, title="Mine", version="1"))
    response = client.post(
        reverse("engagement-edit", args=[own_engagement.pk]), form_data(city_a, title="Mine", version="2")
    )
    assert response.status_code == 302
    own_engagement.refresh_from_db()
    assert own_engagement.title == "Mine"


def test_another_citys_staff_may_read_but_not_edit(staff_b, own_engagement):
    client = client_for(staff_b)
    assert client.get(reverse("engagement-detail", args=[own_engagement.pk])).status_code == 200
    assert client.get(reverse("engagement-edit", args=[own_engagement.pk])).status_code == 403
    response = client.post(reverse("engagement-edit", args=[own_engagement.pk]), {"title": "Hijacked"})
    assert response.status_code == 403
    own_engagement.refresh_from_db()
    assert own_engagement.title == "Sister-city visit"


def test_a_restricted_engagement_of_another_city_does_not_exist_for_staff(staff_a, restricted_of_b):
    client = client_for(staff_a)
    for name in ("engagement-detail", "engagement-edit", "follow-up-create"):
        assert client.get(reverse(name, args=[restricted_of_b.pk])).status_code == 404
    assert client.post(reverse("engagement-edit", args=[restricted_of_b.pk]), {"title": "x"}).status_code == 404
    listing = client.get(reverse("engagement-list"))
    assert "Confidential talks" not in listing.content.decode()
    assert listing.context["count"] == 0


def test_a_liaison_reads_restricted_engagements_but_cannot_edit(liaison, restricted_of_b):
    client = client_for(liaison)
    assert client.get(reverse("engagement-detail", args=[restricted_of_b.pk])).status_code == 200
    assert client.get(reverse("engagement-edit", args=[restricted_of_b.pk])).status_code == 403


def test_a_partner_sees_only_public_engagements(partner, own_engagement, staff_a):
    client = client_for(partner)
    assert client.get(reverse("engagement-detail", args=[own_engagement.pk])).status_code == 404
    save_engagement(actor=staff_a, engagement=own_engagement, data={"visibility": "public"})
    assert client.get(reverse("engagement-detail", args=[own_engagement.pk])).status_code == 200


# --- Detail and history ----------------------------------------------------------------------


def test_detail_shows_history_with_who_changed_which_field(staff_a, own_engagement, foreign_city):
    save_engagement(
        actor=staff_a, engagement=own_engagement, data={"title": "Sister-city visit II", "counterpart_cities": []}
    )
    response = client_for(staff_a).get(reverse("engagement-detail", args=[own_engagement.pk]))
    history = response.context["history"]
    assert [entry["action"] for entry in history] == ["changed", "created"]
    changes = {c["label"]: (c["old"], c["new"]) for c in history[0]["changes"]}
    assert changes["Title"] == ("Sister-city visit", "Sister-city visit II")
    assert changes["Counterpart cities"] == (str(foreign_city), "—")
    assert "alice" in response.content.decode()


def test_detail_page_query_count_does_not_grow_with_history(staff_a, own_engagement, django_assert_max_num_queries):
    for n in range(10):
        save_engagement(actor=staff_a, engagement=own_engagement, data={"title": f"Visit {n}"})
    client = client_for(staff_a)
    client.get(reverse("engagement-detail", args=[own_engagement.pk]))
    # session, user, home cities, engagement, 4 prefetches, follow-ups, reviews, participants,
    # assignee choices, history rows, 4 history relation tables, labels of related records,
    # documents.
    with django_assert_max_num_queries(25):
        response = client.get(reverse("engagement-detail", args=[own_engagement.pk]))
    assert len(response.context["history"]) == 11


def test_markup_in_title_and_summary_is_shown_as_text_everywhere(staff_a, city_a):
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    engagement = save_engagement(
        actor=staff_a,
        data={
            "city": city_a,
            "title": evil,
            "summary": evil,
            "kind": "other",
            "status": "planned",
            "start_date": timezone.localdate() + dt.timedelta(days=3),
        },
    )
    factories.FollowUpFactory(engagement=engagement, description=evil, due_on=timezone.localdate())
    client = client_for(staff_a)
    pages = [
        reverse("engagement-detail", args=[engagement.pk]),
        reverse("engagement-edit", args=[engagement.pk]),
        reverse("engagement-list"),
        reverse("engagement-list") + "?q=" + "%3Cscript%3E",
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html, url
    request = RequestFactory().get("/")
    request.user = staff_a
    desk_html = staff_desk(request).content.decode()
    assert "<script>alert" not in desk_html and "&lt;script&gt;" in desk_html


# --- List, filters, export -------------------------------------------------------------------


def test_list_filters_by_the_shared_filters_and_keeps_them_in_the_url(staff_a, city_a, city_b, foreign_city):
    factories.EngagementFactory(city=city_a, title="Climate exchange", kind="conference")
    factories.EngagementFactory(city=city_b, title="Chicago trade week", kind="trade_mission")
    client = client_for(staff_a)
    response = client.get(reverse("engagement-list"), {"kind": "conference"})
    assert response.context["count"] == 1
    html = response.content.decode()
    assert "Climate exchange" in html and "Chicago trade week" not in html
    assert re.search(r'value="conference" id="id_kind_\d+" checked', html)
    assert not re.search(r'value="trade_mission" id="id_kind_\d+" checked', html)
    response = client.get(reverse("engagement-list"), {"state": "US-IL"})
    assert [e.title for e in response.context["page"].object_list] == ["Chicago trade week"]


def test_a_bad_filter_value_is_an_error_not_everything(staff_a, city_a):
    factories.EngagementFactory(city=city_a)
    response = client_for(staff_a).get(reverse("engagement-list"), {"state": "California"})
    assert response.status_code == 200
    assert response.context["count"] == 0
    assert "Give an ISO 3166-2 code" in response.content.decode()


def test_list_sorts_and_pages(staff_a, city_a):
    for day in range(1, 56):
        factories.EngagementFactory(
            city=city_a, title=f"E{day:02d}", start_date=dt.date(2026, 1, 1) + dt.timedelta(days=day)
        )
    client = client_for(staff_a)
    first = client.get(reverse("engagement-list"), {"ordering": "title"})
    assert first.context["count"] == 55
    assert [e.title for e in first.context["page"].object_list][:2] == ["E01", "E02"]
    second = client.get(reverse("engagement-list"), {"ordering": "title", "page": 2})
    assert [e.title for e in second.context["page"].object_list] == ["E51", "E52", "E53", "E54", "E55"]
    assert client.get(reverse("engagement-list"), {"page": 9}).status_code == 404


def test_list_query_count_does_not_grow_with_rows(staff_a, city_a, foreign_city, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(staff_a)

    def queries_for_list():
        with CaptureQueriesContext(connection) as context:
            client.get(reverse("engagement-list"))
        return len(context)

    for n in range(5):
        factories.EngagementFactory(city=city_a, title=f"E{n}").counterpart_cities.add(foreign_city)
    client.get(reverse("engagement-list"))
    few = queries_for_list()
    for n in range(30):
        factories.EngagementFactory(city=city_a, title=f"F{n}").counterpart_cities.add(foreign_city)
    assert queries_for_list() == few
    # session, user, home cities (policy), count, page rows, topics, counterpart cities,
    # city filter options, countries, topic choices, home cities in the header, unread
    # notifications in the header, session save (savepoint, update, release).
    with django_assert_max_num_queries(15):
        client.get(reverse("engagement-list"))


def test_csv_export_has_the_filtered_visible_rows_and_defuses_formulas(staff_a, staff_b, city_a, city_b):
    factories.EngagementFactory(city=city_a, title='=HYPERLINK("http://evil")', kind="conference")
    factories.EngagementFactory(city=city_a, title="Other kind", kind="trade_mission")
    factories.EngagementFactory(city=city_b, title="Hidden", kind="conference", visibility="restricted")
    response = client_for(staff_a).get(reverse("engagement-list"), {"kind": "conference", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row["title"] for row in rows] == ['\'=HYPERLINK("http://evil")']
    assert rows[0]["city"] == "Los Angeles, US-CA"


def test_staff_of_several_cities_choose_the_city(city_a, city_b):
    both = factories.UserFactory(username="dana", home_cities=[city_a, city_b])
    client = client_for(both)
    html = client.get(reverse("engagement-create")).content.decode()
    assert '<select name="city"' in html and "Chicago, US-IL" in html and "Los Angeles, US-CA" in html
    response = client.post(reverse("engagement-create"), form_data(city_b))
    assert response.status_code == 302
    assert Engagement.objects.get().city == city_b


def test_an_untouched_new_organisation_panel_stays_quiet(staff_a, city_a):
    response = client_for(staff_a).post(reverse("engagement-create"), form_data(city_a, title=""))
    assert response.status_code == 200
    assert response.context["org_form"].is_bound is False
    assert "organization-name_error" not in response.content.decode()


def test_the_related_agreement_choices_are_the_records_city(staff_a, admin_user, city_a, city_b, own_engagement):
    mine = factories.AgreementFactory(city=city_a, title="LA–Nagoya")
    factories.AgreementFactory(city=city_b, title="Chicago–Osaka")
    for user in (staff_a, admin_user):
        form = client_for(user).get(reverse("engagement-edit", args=[own_engagement.pk])).context["form"]
        assert list(form.fields["agreement"].queryset) == [mine], user


def test_the_filter_form_sent_with_empty_fields_lists_everything(staff_a, city_a):
    factories.EngagementFactory(city=city_a)
    factories.EngagementFactory(city=city_a)
    empty = dict.fromkeys(
        (
            "q",
            "city",
            "state",
            "start_after",
            "start_before",
            "counterpart_country",
            "visibility",
            "federal_coordination_requested",
        ),
        "",
    )
    response = client_for(staff_a).get(reverse("engagement-list"), empty)
    assert response.status_code == 200
    assert response.context["count"] == 2
