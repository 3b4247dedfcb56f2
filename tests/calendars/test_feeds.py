"""`/calendar/<token>.ics` (SPEC §8.4): valid RFC 5545 read back with the icalendar library, stable
UIDs, all-day dates, what the feed's owner may see and nothing else, filters, and the URL's end."""

import datetime as dt
import hashlib

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from icalendar import Calendar

from calendars.feeds import ANNIVERSARY_YEARS, FeedBuilder, add_years
from calendars.filters import FeedFilters
from calendars.models import CalendarFeed
from calendars.services import issue_feed, revoke_feed
from compliance.models import ComplianceFlag, ComplianceRule
from engagements.services import complete_follow_up, save_agreement
from tests import factories

from .conftest import by_uid, feed_url, read_feed, summaries, uids

pytestmark = pytest.mark.django_db

KINDS_OF_EVENT = ("engagement", "anniversary", "expires", "renewal", "follow-up", "compliance-flag")


def event_kind(uid: str) -> str:
    local = uid.split("@")[0]
    for kind in ("anniversary", "expires", "renewal"):
        if f"-{kind}" in local:
            return kind
    return next(kind for kind in ("follow-up", "compliance-flag", "engagement") if local.startswith(kind))


# --- valid RFC 5545 -----------------------------------------------------------------------------


def test_a_feed_is_valid_icalendar_with_uid_dtstamp_and_all_day_dates(staff_a, records):
    response, calendar = read_feed(feed_url(staff_a))
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar.validate()  # PRODID, VERSION and at least one component
    assert str(calendar["VERSION"]) == "2.0"
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert calendar.events, "the feed is empty"
    for event in calendar.events:
        assert "@" in str(event["UID"])
        stamp = event["DTSTAMP"].dt
        assert isinstance(stamp, dt.datetime) and stamp.utcoffset() == dt.timedelta(0), stamp
        assert event["DTSTART"].params["VALUE"] == "DATE"
        assert event["DTEND"].params["VALUE"] == "DATE"
        start, end = event["DTSTART"].dt, event["DTEND"].dt
        assert type(start) is dt.date and type(end) is dt.date
        assert end > start  # all-day DTEND is exclusive
        assert str(event["SUMMARY"])
        assert str(event["URL"]).startswith("http://testserver/")
    # Every kind of event is there, once per record staff A may see.
    kinds = [event_kind(str(event["UID"])) for event in calendar.events]
    assert set(kinds) == set(KINDS_OF_EVENT)


def test_every_event_is_written_in_the_text_the_library_reads_back(staff_a, records):
    """Raw lines: CRLF line ends, lines folded at 75 octets, dates as VALUE=DATE."""
    response, _ = read_feed(feed_url(staff_a))
    text = response.content.decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    assert any(line.startswith("DTSTART;VALUE=DATE:") for line in lines)
    assert text.count("BEGIN:VEVENT") == text.count("END:VEVENT") > 0


def test_uids_are_the_same_on_every_request_and_survive_an_edit(staff_a, records):
    url = feed_url(staff_a)
    _, first = read_feed(url)
    _, second = read_feed(url)
    assert uids(first) == uids(second)
    assert len(uids(first)) == len(first.events)  # unique within the feed
    assert str(first["UID"]) == str(second["UID"])

    agreement = records["A-internal"]["agreement"]
    before = by_uid(first)[f"agreement-{agreement.pk}-expires"]
    save_agreement(actor=staff_a, agreement=agreement, data={"title": "Renamed agreement"})
    _, third = read_feed(url)
    after = by_uid(third)[f"agreement-{agreement.pk}-expires"]
    assert uids(third) == uids(first)
    assert str(after["SUMMARY"]).startswith("Expires: Renamed agreement")
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after["DTSTAMP"].dt >= before["DTSTAMP"].dt  # to the second


def test_a_multi_day_engagement_ends_the_day_after_its_last_day(staff_a, records, today):
    engagement = records["A-public"]["engagement"]
    _, calendar = read_feed(feed_url(staff_a))
    event = by_uid(calendar)[f"engagement-{engagement.pk}"]
    assert event["DTSTART"].dt == today + dt.timedelta(days=10)
    assert event["DTEND"].dt == today + dt.timedelta(days=13)
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["TRANSP"]) == "OPAQUE"


def test_text_is_escaped_by_the_library_and_reads_back_whole(staff_a, city_a, today):
    title = 'São Paulo; Zürich, 北京 "Kraków"\\ <b>'
    engagement = factories.EngagementFactory(
        city=city_a, title=title, summary="Line one\nLine two; with, commas", start_date=today
    )
    _, calendar = read_feed(feed_url(staff_a))
    event = by_uid(calendar)[f"engagement-{engagement.pk}"]
    assert str(event["SUMMARY"]) == f"{title} ({city_a.name})"
    assert "Line one\nLine two; with, commas" in str(event["DESCRIPTION"])


# --- which events -----------------------------------------------------------------------------


def test_the_events_of_one_record_carry_their_dates(staff_a, records, today):
    record = records["A-restricted"]
    agreement, follow_up, flag = record["agreement"], record["follow_up"], record["flag"]
    events = by_uid(read_feed(feed_url(staff_a))[1])
    assert events[f"agreement-{agreement.pk}-anniversary-5"]["DTSTART"].dt == today + dt.timedelta(days=20)
    assert str(events[f"agreement-{agreement.pk}-anniversary-5"]["SUMMARY"]).startswith("5 years since signing: ")
    assert events[f"agreement-{agreement.pk}-expires"]["DTSTART"].dt == today + dt.timedelta(days=30)
    assert events[f"agreement-{agreement.pk}-renewal"]["DTSTART"].dt == today + dt.timedelta(days=40)
    assert events[f"follow-up-{follow_up.pk}"]["DTSTART"].dt == today + dt.timedelta(days=3)
    assert events[f"compliance-flag-{flag.pk}-deadline"]["DTSTART"].dt == today + dt.timedelta(days=50)
    assert "CAL-A" in str(events[f"compliance-flag-{flag.pk}-deadline"]["SUMMARY"])
    assert (
        str(events[f"follow-up-{follow_up.pk}"]["URL"]) == f"http://testserver/engagements/{follow_up.engagement_id}/"
    )
    assert str(events[f"agreement-{agreement.pk}-renewal"]["URL"]) == f"http://testserver/agreements/{agreement.pk}/"


def test_done_follow_ups_cancelled_engagements_and_settled_flags_leave_the_feed(staff_a, records, city_a):
    record = records["A-public"]
    complete_follow_up(actor=staff_a, follow_up=record["follow_up"])
    cancelled = factories.EngagementFactory(city=city_a, status="cancelled", start_date=record["engagement"].start_date)
    ComplianceFlag.objects.filter(pk=record["flag"].pk).update(status="waived", reason="Approved by the state")
    events = by_uid(read_feed(feed_url(staff_a))[1])
    assert f"follow-up-{record['follow_up'].pk}" not in events
    assert f"engagement-{cancelled.pk}" not in events
    assert f"compliance-flag-{record['flag'].pk}-deadline" not in events
    assert f"follow-up-{records['A-internal']['follow_up'].pk}" in events


def test_anniversaries_are_1_5_10_25_and_50_years_after_signing(staff_a, city_a):
    builder_today = dt.date(2026, 6, 1)
    signed = {years: add_years(dt.date(2026, 7, 1), -years) for years in (1, 2, 5, 10, 25, 40, 50)}
    agreements = {
        years: factories.AgreementFactory(city=city_a, signed_on=day, expires_on=None) for years, day in signed.items()
    }
    builder = FeedBuilder(user=staff_a, filters=FeedFilters(), base_url="http://x", today=builder_today)
    found = {str(event["UID"]).split("@")[0] for event in builder.events()}
    for years, agreement in agreements.items():
        expected = f"agreement-{agreement.pk}-anniversary-{years}"
        assert (expected in found) == (years in ANNIVERSARY_YEARS), expected
    assert ANNIVERSARY_YEARS == (1, 5, 10, 25, 50)


def test_29_february_anniversaries_fall_on_28_february_in_common_years(staff_a, city_a):
    leap = factories.AgreementFactory(city=city_a, signed_on=dt.date(2024, 2, 29), expires_on=None)
    old = factories.AgreementFactory(city=city_a, signed_on=dt.date(1976, 2, 29), expires_on=None)
    builder = FeedBuilder(user=staff_a, filters=FeedFilters(), base_url="http://x", today=dt.date(2025, 1, 10))
    events = {str(event["UID"]).split("@")[0]: event["DTSTART"].dt for event in builder.events()}
    assert events[f"agreement-{leap.pk}-anniversary-1"] == dt.date(2025, 2, 28)
    assert events[f"agreement-{leap.pk}-anniversary-5"] == dt.date(2029, 2, 28)
    assert events[f"agreement-{old.pk}-anniversary-50"] == dt.date(2026, 2, 28)
    # ... and on 29 February itself in a leap year.
    assert add_years(dt.date(2024, 2, 29), 4) == dt.date(2028, 2, 29)
    assert add_years(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)
    assert add_years(dt.date(2023, 3, 1), 1) == dt.date(2024, 3, 1)


def test_the_feed_is_bounded_to_a_year_back_and_five_years_ahead(staff_a, city_a, today):
    inside = factories.EngagementFactory(city=city_a, start_date=today - dt.timedelta(days=300))
    too_old = factories.EngagementFactory(city=city_a, start_date=today - dt.timedelta(days=400))
    too_far = factories.EngagementFactory(city=city_a, start_date=add_years(today, 6))
    # Began before the window but still going on inside it.
    long_running = factories.EngagementFactory(
        city=city_a, start_date=today - dt.timedelta(days=400), end_date=today - dt.timedelta(days=200)
    )
    events = by_uid(read_feed(feed_url(staff_a))[1])
    assert f"engagement-{inside.pk}" in events
    assert f"engagement-{long_running.pk}" in events
    assert f"engagement-{too_old.pk}" not in events
    assert f"engagement-{too_far.pk}" not in events


# --- what its owner may see, and nothing else -----------------------------------------------------


def visible_labels(owner):
    if owner == "staff_a":
        return {"A-public", "A-internal", "A-restricted", "B-public", "B-internal"}
    if owner == "staff_b":
        return {"B-public", "B-internal", "B-restricted", "A-public", "A-internal"}
    return {f"{c}-{v}" for c in "AB" for v in ("public", "internal", "restricted")}


@pytest.mark.parametrize("owner", ["staff_a", "staff_b", "liaison", "admin"])
def test_a_feed_holds_exactly_the_records_its_owner_may_see(cast, records, owner):
    response, calendar = read_feed(feed_url(cast[owner]))
    body = response.content.decode("utf-8")
    events = by_uid(calendar)
    for label, record in records.items():
        keys = {
            f"engagement-{record['engagement'].pk}",
            f"agreement-{record['agreement'].pk}-expires",
            f"agreement-{record['agreement'].pk}-renewal",
            f"agreement-{record['agreement'].pk}-anniversary-5",
            f"follow-up-{record['follow_up'].pk}",
            f"compliance-flag-{record['flag'].pk}-deadline",
        }
        if label in visible_labels(owner):
            assert keys <= set(events), (label, keys - set(events))
        else:
            assert not keys & set(events), (label, keys & set(events))
            # Nothing of it shows: not its title, not its follow-up, not even its URL.
            for text in (
                f"Engagement {label}",
                f"Agreement {label}",
                f"Follow-up {label}",
                f"/engagements/{record['engagement'].pk}/",
                f"/agreements/{record['agreement'].pk}/",
            ):
                assert text not in body, (owner, text)


def test_the_requesters_session_changes_nothing(cast, records):
    """The feed is read as its owner whoever opens the URL: staff B's feed is the same for an
    anonymous calendar program and for a liaison's browser session."""
    url = feed_url(cast["staff_b"])
    anonymous = read_feed(url)[0].content
    liaison = Client()
    liaison.force_login(cast["liaison"])
    assert read_feed(url, liaison)[0].content.count(b"BEGIN:VEVENT") == anonymous.count(b"BEGIN:VEVENT")
    assert b"Agreement A-restricted" not in read_feed(url, liaison)[0].content


def test_a_staff_member_who_loses_a_home_city_loses_its_restricted_records(staff_a, records, city_b):
    url = feed_url(staff_a)
    assert "Engagement A-restricted" in summaries(read_feed(url)[1])
    staff_a.home_cities.set([city_b])
    calendar = read_feed(url)[1]
    assert "Engagement A-restricted" not in summaries(calendar)
    assert "Engagement B-restricted" in summaries(calendar)


# --- filters: city and portfolio feeds -----------------------------------------------------------


def test_city_and_state_filters_narrow_the_feed(liaison, records, city_a, city_b):
    city_feed = summaries(read_feed(feed_url(liaison, f"city={city_a.slug}"))[1])
    assert "Engagement A-restricted" in city_feed and "Engagement B-public" not in city_feed
    state_feed = summaries(read_feed(feed_url(liaison, "state=US-IL"))[1])
    assert "Engagement B-restricted" in state_feed and "Engagement A-public" not in state_feed
    lower = summaries(read_feed(feed_url(liaison, "state=us-il"))[1])
    assert lower == state_feed
    both = summaries(read_feed(feed_url(liaison, f"city={city_a.slug}&city={city_b.slug}"))[1])
    assert "Agreement A-internal" in both and "Agreement B-internal" in both
    # A city and a state together: records that match both.
    assert "CAL-" not in summaries(read_feed(feed_url(liaison, f"city={city_a.slug}&state=US-IL"))[1])


def test_kinds_filter_keeps_only_those_events(staff_a, records):
    calendar = read_feed(feed_url(staff_a, "kinds=anniversaries,follow-ups"))[1]
    kinds = {event_kind(str(event["UID"])) for event in calendar.events}
    assert kinds == {"anniversary", "follow-up"}
    repeated = read_feed(feed_url(staff_a, "kinds=expiries&kinds=compliance"))[1]
    assert {event_kind(str(event["UID"])) for event in repeated.events} == {"expires", "compliance-flag"}


def test_a_filter_never_widens_what_the_owner_sees(staff_b, records, city_a):
    calendar = read_feed(feed_url(staff_b, f"city={city_a.slug}"))[1]
    assert "Engagement A-public" in summaries(calendar)
    assert "Engagement A-restricted" not in summaries(calendar)


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("city=no-such-city", "city"),
        ("city=%00", "city"),
        ("city=" + "x" * 300, "city"),
        ("city=los%20angeles", "city"),
        ("state=US-ZZ", "state"),
        ("state=CA", "state"),
        ("state=%00", "state"),
        ("kinds=birthdays", "kinds"),
        ("kinds=engagements,%00", "kinds"),
        ("state=" + "&state=".join(["US-CA"] * 51), "state"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(staff_a, query, names):
    response = Client().get(feed_url(staff_a, query))
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode().startswith(f"{names}:")


# --- the URL: secret, revocable, stored hashed --------------------------------------------------


def test_only_the_tokens_digest_is_stored(staff_a):
    feed, token = issue_feed(user=staff_a, label="Phone")
    stored = CalendarFeed.objects.get(pk=feed.pk)
    assert stored.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(CalendarFeed.objects.filter(pk=feed.pk).values().get())
    assert len(token) >= 43


def test_a_revoked_feed_answers_404(staff_a, records):
    feed, token = issue_feed(user=staff_a)
    url = f"/calendar/{token}.ics"
    assert Client().get(url).status_code == 200
    assert revoke_feed(actor=staff_a, feed=feed) is True
    response = Client().get(url)
    assert response.status_code == 404
    assert b"BEGIN:VCALENDAR" not in response.content
    assert revoke_feed(actor=staff_a, feed=feed) is False  # once


def test_revoking_one_feed_leaves_the_others(staff_a, records):
    first, first_token = issue_feed(user=staff_a)
    _, second_token = issue_feed(user=staff_a)
    revoke_feed(actor=staff_a, feed=first)
    assert Client().get(f"/calendar/{first_token}.ics").status_code == 404
    assert Client().get(f"/calendar/{second_token}.ics").status_code == 200


@pytest.mark.parametrize(
    "token", ["x" * 43, "short", "a" * 200, "not%20a%20token-but-long-enough-to-look-like-one", "%00" * 20]
)
def test_an_unknown_or_malformed_token_answers_404(staff_a, token):
    issue_feed(user=staff_a)
    response = Client().get(f"/calendar/{token}.ics")
    assert response.status_code == 404
    assert b"VCALENDAR" not in response.content


def test_a_deactivated_owner_or_one_who_became_a_partner_has_no_feed(staff_a, liaison, records):
    staff_url, liaison_url = feed_url(staff_a), feed_url(liaison)
    staff_a.is_active = False
    staff_a.save()
    assert Client().get(staff_url).status_code == 404
    liaison.role = "partner"
    liaison.save()
    assert Client().get(liaison_url).status_code == 404


def test_partners_cannot_be_issued_a_feed(partner):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        issue_feed(user=partner)


def test_a_token_is_checked_before_the_filters(staff_a):
    """An unknown token with a bad filter is still a 404: a stranger learns nothing."""
    assert Client().get("/calendar/" + "y" * 43 + ".ics?state=nonsense").status_code == 404


def test_reading_a_feed_notes_when_it_was_last_used(staff_a):
    feed, token = issue_feed(user=staff_a)
    assert feed.last_used_at is None
    Client().get(f"/calendar/{token}.ics")
    feed.refresh_from_db()
    assert feed.last_used_at is not None


def test_head_answers_like_get_and_writes_are_refused(staff_a):
    url = feed_url(staff_a)
    assert Client().head(url).status_code == 200
    assert Client().post(url).status_code == 405


# --- constant work -----------------------------------------------------------------------------


def count_feed_queries(url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = Client().get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("owner", ["staff_a", "liaison"])
def test_the_feed_reads_in_constant_queries_whatever_the_records(cast, city_a, today, owner):
    """Queries: the feed by token with its owner; noting its use; (staff) the home cities;
    engagements; agreements; follow-ups; compliance flags. The same for 1 record of each kind
    as for 30."""
    url = feed_url(cast[owner])
    rule = ComplianceRule.objects.create(
        code="CAL-Q", jurisdiction="US-CA", name="Q", deadline_on=today + dt.timedelta(days=9)
    )

    def add(n):
        for i in range(n):
            engagement = factories.EngagementFactory(
                city=city_a, start_date=today + dt.timedelta(days=i), location_city=factories.CityFactory()
            )
            agreement = factories.AgreementFactory(
                city=city_a,
                signed_on=add_years(today, -10) + dt.timedelta(days=i),
                expires_on=today + dt.timedelta(days=i),
                renewal_due_on=today + dt.timedelta(days=i),
            )
            factories.FollowUpFactory(engagement=engagement, due_on=today, assignee=cast["staff_a"])
            ComplianceFlag.objects.create(rule=rule, agreement=agreement)

    add(1)
    few = count_feed_queries(url)
    add(29)
    many = count_feed_queries(url)
    assert many == few
    assert few <= 7, few
    calendar = Calendar.from_ical(Client().get(url).content)
    assert len(calendar.events) == 30 * 6  # engagement, anniversary, expiry, renewal, follow-up, flag


def test_a_feed_with_no_event_is_still_a_valid_calendar(staff_a):
    """RFC 5545 wants at least one component: an empty feed holds only the UTC time zone."""
    _, calendar = read_feed(feed_url(staff_a))
    assert calendar.events == []
    calendar.validate()
    assert [str(tz["TZID"]) for tz in calendar.timezones] == ["UTC"]
