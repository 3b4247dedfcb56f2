"""Each trigger reaches the right people, and only them (SPEC §6 Notifications)."""

import datetime as dt
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from cities.models import WatchedCountry
from engagements.services import add_review, save_agreement, save_engagement, save_follow_up
from notifications import scans, tasks, triggers
from notifications.digests import send_weekly_digests
from notifications.models import EmailState, Kind, Notification
from tests import factories

TODAY = dt.date(2026, 6, 1)


def recipients(kind):
    return set(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True))


def log_engagement(actor, city, **data):
    fields = {
        "city": city,
        "title": "Trade mission to Osaka",
        "kind": "trade_mission",
        "status": "planned",
        "start_date": dt.date(2026, 9, 14),
        **data,
    }
    return save_engagement(actor=actor, data=fields)


# --- Engagement alerts to liaisons ---------------------------------------------------------------


def test_federal_coordination_request_alerts_the_liaisons_whose_portfolio_covers_the_state(
    staff_a, liaison, liaison_ca, liaison_ny, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        engagement = log_engagement(staff_a, staff_a.home_cities.get(), federal_coordination_requested=True)

    assert recipients(Kind.ENGAGEMENT_ALERT) == {"lena", "carla"}  # portfolio_all and US-CA; not US-NY
    assert sorted(m.to[0] for m in mail.outbox) == ["carla@example.org", "lena@example.org"]
    alert = Notification.objects.get(recipient=liaison_ca)
    assert alert.engagement == engagement
    assert alert.data["reasons"] == ["Federal coordination requested"]
    assert alert.email_state == EmailState.SENT


def test_watch_list_counterpart_alerts_liaisons(staff_a, liaison_ca, django_capture_on_commit_callbacks):
    WatchedCountry.objects.create(country=factories.country("RU"), reason="Sanctions regime")
    moscow = factories.CityFactory(name="Moscow", country=factories.country("RU"), subdivision="")
    with django_capture_on_commit_callbacks(execute=True):
        log_engagement(staff_a, staff_a.home_cities.get(), counterpart_cities=[moscow])

    alert = Notification.objects.get(kind=Kind.ENGAGEMENT_ALERT)
    assert alert.recipient == liaison_ca
    assert alert.data["reasons"] == ["Watch-list counterpart: Russia"]
    assert "Watch-list counterpart: Russia" in mail.outbox[0].body


def test_ordinary_engagement_alerts_nobody_and_enqueues_nothing(
    staff_a, foreign_city, liaison_ca, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(tasks.engagements_changed, "delay") as enqueued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        log_engagement(staff_a, staff_a.home_cities.get(), counterpart_cities=[foreign_city])

    enqueued.assert_not_called()
    assert not Notification.objects.exists()


def test_a_changed_engagement_alerts_again_but_the_same_version_only_once(
    staff_a, liaison_ca, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        engagement = log_engagement(staff_a, staff_a.home_cities.get(), federal_coordination_requested=True)
    with django_capture_on_commit_callbacks(execute=True):
        save_engagement(actor=staff_a, engagement=engagement, data={"start_date": dt.date(2026, 9, 21)})
    tasks.engagements_changed.delay([engagement.pk])  # a redelivered job for the current version

    titles = list(Notification.objects.order_by("pk").values_list("title", flat=True))
    assert [t.split(":")[0] for t in titles] == [
        "New engagement for federal attention",
        "Changed engagement for federal attention",
    ]
    assert len(mail.outbox) == 2


# --- Reviews to the author and the city's staff -----------------------------------------------


def test_a_review_reaches_the_author_and_the_city_staff_but_not_other_cities_or_the_reviewer(
    staff_a, colleague_a, staff_b, liaison, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        engagement = log_engagement(staff_a, staff_a.home_cities.get())
    with django_capture_on_commit_callbacks(execute=True):
        add_review(reviewer=liaison, engagement=engagement, decision="flagged", comment="Check the export rules.")

    assert recipients(Kind.REVIEW) == {"alice", "amir"}
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.org", "amir@example.org"]
    body = mail.outbox[0].body
    assert "Flagged" in body and "Check the export rules." in body


def test_a_review_reaches_an_author_who_no_longer_works_for_the_city(staff_a, liaison, city_b):
    engagement = factories.EngagementFactory(city=city_b, created_by=staff_a, visibility="internal")
    review = add_review(reviewer=liaison, engagement=engagement, decision="acknowledged")

    triggers.notify_review(review.pk)

    assert recipients(Kind.REVIEW) == {"alice"}


# --- Agreements expiring, to the owning city's staff ----------------------------------------


def test_expiring_agreements_reach_the_owning_city_staff_at_the_notice_now_due(staff_a, staff_b, city_a):
    for days in (90, 30, 7, 0, 91, -1):
        factories.AgreementFactory(city=city_a, title=f"In {days} days", expires_on=TODAY + dt.timedelta(days=days))
    factories.AgreementFactory(city=city_a, title="Terminated", status="terminated", expires_on=TODAY)

    scans.scan_expiring_agreements(today=TODAY)

    notices = Notification.objects.filter(kind=Kind.AGREEMENT_EXPIRING)
    assert {n.agreement.title: n.data["notice_days"] for n in notices} == {
        "In 90 days": 90,
        "In 30 days": 30,
        "In 7 days": 7,
        "In 0 days": 7,
    }
    assert {n.recipient.username for n in notices} == {"alice"}


def test_each_expiry_notice_is_sent_once_over_a_daily_schedule(staff_a, city_a):
    agreement = factories.AgreementFactory(city=city_a, expires_on=TODAY + dt.timedelta(days=95))

    for day in range(100):
        scans.scan_expiring_agreements(today=TODAY + dt.timedelta(days=day))

    notices = Notification.objects.filter(agreement=agreement).order_by("created_at", "pk")
    assert [n.data["notice_days"] for n in notices] == [90, 30, 7]
    assert len(mail.outbox) == 0  # the scan alone queues nothing; tasks send (see below)


def test_a_renewed_agreement_is_announced_again_for_its_new_date(staff_a, city_a):
    agreement = factories.AgreementFactory(city=city_a, expires_on=TODAY + dt.timedelta(days=20))
    scans.scan_expiring_agreements(today=TODAY)
    save_agreement(actor=staff_a, agreement=agreement, data={"expires_on": TODAY + dt.timedelta(days=60)})

    scans.scan_expiring_agreements(today=TODAY + dt.timedelta(days=30))

    assert Notification.objects.filter(agreement=agreement).count() == 2


def test_the_daily_scan_task_emails_the_expiry_notice(staff_a, city_a, django_capture_on_commit_callbacks):
    factories.AgreementFactory(
        city=city_a, title="Sister city: Nagoya", expires_on=timezone.localdate() + dt.timedelta(days=30)
    )
    with django_capture_on_commit_callbacks(execute=True):
        tasks.daily_scan.delay()

    [message] = mail.outbox
    assert message.to == ["alice@example.org"]
    assert "Sister city: Nagoya" in message.subject


# --- Follow-ups, to the assignee -------------------------------------------------------------


def test_a_follow_up_due_tomorrow_reaches_its_assignee_only(staff_a, colleague_a, city_a):
    engagement = factories.EngagementFactory(city=city_a)
    factories.FollowUpFactory(engagement=engagement, assignee=colleague_a, due_on=TODAY + dt.timedelta(days=1))
    factories.FollowUpFactory(engagement=engagement, assignee=colleague_a, due_on=TODAY + dt.timedelta(days=2))
    factories.FollowUpFactory(
        engagement=engagement,
        assignee=colleague_a,
        due_on=TODAY + dt.timedelta(days=1),
        done_at=dt.datetime(2026, 5, 30, tzinfo=dt.UTC),
    )

    scans.scan_follow_ups(today=TODAY)

    [notice] = Notification.objects.all()
    assert (notice.recipient, notice.kind) == (colleague_a, Kind.FOLLOW_UP_DUE)


def test_an_overdue_follow_up_is_announced_once(staff_a, city_a):
    follow_up = factories.FollowUpFactory(
        engagement=factories.EngagementFactory(city=city_a), assignee=staff_a, due_on=TODAY + dt.timedelta(days=1)
    )

    for day in range(5):
        scans.scan_follow_ups(today=TODAY + dt.timedelta(days=day))

    assert list(Notification.objects.filter(follow_up=follow_up).order_by("pk").values_list("kind", flat=True)) == [
        Kind.FOLLOW_UP_DUE,
        Kind.FOLLOW_UP_OVERDUE,
    ]


def test_completing_a_follow_up_stops_the_overdue_notice(staff_a, city_a):
    follow_up = factories.FollowUpFactory(
        engagement=factories.EngagementFactory(city=city_a), assignee=staff_a, due_on=TODAY - dt.timedelta(days=3)
    )
    save_follow_up(actor=staff_a, follow_up=follow_up, data={"done_at": dt.datetime(2026, 5, 31, tzinfo=dt.UTC)})

    scans.scan_follow_ups(today=TODAY)

    assert not Notification.objects.exists()


# --- Weekly digest, to liaisons --------------------------------------------------------------


@pytest.fixture
def week_of_activity(city_a, city_b, staff_a, liaison):
    """In California: two new engagements (one flagged) and an agreement expiring; in Illinois:
    one new engagement."""
    flagged = factories.EngagementFactory(city=city_a, title="Port security dialogue")
    factories.EngagementFactory(city=city_a, title="Climate summit", federal_coordination_requested=True)
    factories.EngagementFactory(city=city_b, title="Chicago–Osaka exchange")
    factories.ReviewFactory(engagement=flagged, reviewer=liaison, decision="flagged", comment="Dual-use technology")
    factories.AgreementFactory(
        city=city_a, title="MOU with Nagoya", expires_on=timezone.localdate() + dt.timedelta(days=45)
    )


def test_the_weekly_digest_covers_each_liaisons_portfolio(liaison, liaison_ca, liaison_ny, week_of_activity):
    send_weekly_digests()

    digests = {n.recipient.username: n.data for n in Notification.objects.filter(kind=Kind.WEEKLY_DIGEST)}
    assert set(digests) == {"lena", "carla"}  # New York had nothing to report
    assert digests["carla"]["counts"] == {"new": 2, "flags": 1, "expiring": 1}
    assert digests["lena"]["counts"] == {"new": 3, "flags": 1, "expiring": 1}
    assert {item["title"] for item in digests["carla"]["new_engagements"]} == {
        "Port security dialogue",
        "Climate summit",
    }
    assert digests["carla"]["flags"][0]["comment"] == "Dual-use technology"


def test_the_weekly_digest_is_sent_once_per_week(liaison_ca, week_of_activity):
    monday = timezone.now() - dt.timedelta(days=timezone.now().weekday())
    send_weekly_digests(now=monday)
    send_weekly_digests(now=monday)  # beat fired twice
    send_weekly_digests(now=monday + dt.timedelta(days=2))  # same ISO week, run by hand

    assert Notification.objects.filter(recipient=liaison_ca, kind=Kind.WEEKLY_DIGEST).count() == 1


def test_the_weekly_digest_reads_in_a_fixed_number_of_queries(
    liaison, liaison_ca, liaison_ny, week_of_activity, django_assert_num_queries
):
    for n in range(5):
        factories.UserFactory(role="liaison", portfolio_all=True, username=f"extra{n}")
    # 1 liaisons, 2 home cities, 3 portfolio states, 4 new engagements, 5 flags, 6 agreements
    # expiring, 7 email opt-outs, 8 the insert inside 9-10 its savepoint.
    with django_assert_num_queries(10):
        send_weekly_digests()
    assert Notification.objects.filter(kind=Kind.WEEKLY_DIGEST).count() == 7


def test_the_weekly_digest_email_lists_the_portfolio_with_links(
    liaison_ca, week_of_activity, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://diplomacy.example.gov"
    with django_capture_on_commit_callbacks(execute=True):
        tasks.weekly_digest.delay()

    [message] = [m for m in mail.outbox if m.to == ["carla@example.org"]]
    assert "Port security dialogue" in message.body
    assert "Chicago" not in message.body  # Illinois is not in her portfolio
    agreement_id = Notification.objects.get(recipient=liaison_ca).data["expiring"][0]["id"]
    assert f"https://diplomacy.example.gov/agreements/{agreement_id}/" in message.body
    html = message.alternatives[0].content
    assert f'href="https://diplomacy.example.gov/agreements/{agreement_id}/"' in html
