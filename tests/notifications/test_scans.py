"""The daily scans write each notice in SQL: its wording, data and email state are the ones the
product promises, and the number of statements does not grow with the number of notices."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.policy import Action, can
from notifications import scans
from notifications.models import EmailPreference, EmailState, Kind, Notification
from tests import factories

TODAY = dt.date(2026, 6, 1)


def test_expiry_notices_say_when_and_carry_their_notice(staff_a, city_a):
    for days in (0, 1, 7, 30, 90):
        factories.AgreementFactory(city=city_a, title=f"Accord {days}", expires_on=TODAY + dt.timedelta(days=days))

    scans.scan_expiring_agreements(today=TODAY)

    notices = {n.agreement.title: n for n in Notification.objects.filter(kind=Kind.AGREEMENT_EXPIRING)}
    assert {title: n.title for title, n in notices.items()} == {
        "Accord 0": "Agreement expires today (2026-06-01): Accord 0",
        "Accord 1": "Agreement expires in 1 day (2026-06-02): Accord 1",
        "Accord 7": "Agreement expires in 7 days (2026-06-08): Accord 7",
        "Accord 30": "Agreement expires in 30 days (2026-07-01): Accord 30",
        "Accord 90": "Agreement expires in 90 days (2026-08-30): Accord 90",
    }
    notice = notices["Accord 30"]
    assert notice.data == {"notice_days": 30, "expires_on": "2026-07-01"}
    assert (notice.object_key, notice.period) == (f"agreement:{notice.agreement_id}", "2026-07-01/30d")
    assert (notice.recipient, notice.engagement_id, notice.follow_up_id) == (staff_a, None, None)
    assert notice.email_state == EmailState.PENDING and notice.email_attempts == 0 and notice.read_at is None


def test_follow_up_notices_name_the_first_line_of_the_description(staff_a, city_a):
    engagement = factories.EngagementFactory(city=city_a, title="Port visit")
    descriptions = {
        "Send the minutes\nto the consulate": "Send the minutes",
        "Call back\r\nabout visas": "Call back",
        "Book rooms\u2028for the delegation": "Book rooms",
        "\nLeading break": "",
        "x" * 250: "x" * 200,
        "": "Follow-up",
    }
    for description in descriptions:
        factories.FollowUpFactory(
            engagement=engagement, assignee=staff_a, description=description, due_on=TODAY + dt.timedelta(days=1)
        )
    factories.FollowUpFactory(engagement=engagement, assignee=staff_a, description="Late", due_on=TODAY)
    factories.FollowUpFactory(engagement=engagement, assignee=staff_a, description="Later", due_on=dt.date(2026, 5, 2))

    scans.scan_follow_ups(today=TODAY)

    notices = {n.follow_up.description: n for n in Notification.objects.select_related("follow_up")}
    for description, line in descriptions.items():
        assert notices[description].title == f"Due 2026-06-02: {line}"
        assert notices[description].kind == Kind.FOLLOW_UP_DUE
    assert notices["Late"].title == "Due 2026-06-01: Late"
    overdue = notices["Later"]
    assert (overdue.kind, overdue.title) == (Kind.FOLLOW_UP_OVERDUE, "Overdue since 2026-05-02: Later")
    assert overdue.data == {"due_on": "2026-05-02", "engagement_title": "Port visit"}
    assert (overdue.object_key, overdue.period) == (f"follow_up:{overdue.follow_up_id}", "2026-05-02")
    assert overdue.engagement_id == engagement.pk and overdue.agreement_id is None


def test_only_notices_that_want_an_email_are_returned(staff_a, colleague_a, city_a):
    colleague_a.email = ""
    colleague_a.save()
    factories.AgreementFactory(city=city_a, expires_on=TODAY + dt.timedelta(days=5))
    engagement = factories.EngagementFactory(city=city_a)
    factories.FollowUpFactory(engagement=engagement, assignee=staff_a, due_on=TODAY + dt.timedelta(days=1))
    EmailPreference.objects.create(user=staff_a, kind=Kind.FOLLOW_UP_DUE, email=False)

    emailed = scans.scan_expiring_agreements(today=TODAY) + scans.scan_follow_ups(today=TODAY)

    states = {(n.recipient.username, n.kind): n.email_state for n in Notification.objects.all()}
    assert states == {
        ("alice", Kind.AGREEMENT_EXPIRING): EmailState.PENDING,
        ("amir", Kind.AGREEMENT_EXPIRING): EmailState.SKIPPED,  # no address
        ("alice", Kind.FOLLOW_UP_DUE): EmailState.SKIPPED,  # turned off
    }
    assert emailed == list(Notification.objects.filter(email_state=EmailState.PENDING).values_list("pk", flat=True))


def test_notices_go_to_exactly_those_the_policy_lets_see_the_record(city_a, city_b, staff_a, staff_b, liaison, partner):
    """Every visibility and every kind of assignee: the scan's recipients are the ones `can` allows."""
    inactive = factories.UserFactory(username="ivan", role="staff", home_cities=[city_a], is_active=False)
    expected = set()
    for city in (city_a, city_b):
        for visibility in ("public", "internal", "restricted"):
            agreement = factories.AgreementFactory(
                city=city, visibility=visibility, expires_on=TODAY + dt.timedelta(days=3)
            )
            engagement = factories.EngagementFactory(city=city, visibility=visibility)
            for user in (staff_a, staff_b, liaison, partner, inactive):
                follow_up = factories.FollowUpFactory(
                    engagement=engagement, assignee=user, due_on=TODAY - dt.timedelta(days=1)
                )
                if user.is_active and can(user, Action.VIEW, follow_up):
                    expected.add((user.username, f"follow_up:{follow_up.pk}"))
                if user.is_active and user.role == "staff" and city in user.home_cities.all():
                    assert can(user, Action.VIEW, agreement)
                    expected.add((user.username, f"agreement:{agreement.pk}"))

    scans.scan_expiring_agreements(today=TODAY)
    scans.scan_follow_ups(today=TODAY)

    assert set(Notification.objects.values_list("recipient__username", "object_key")) == expected


def test_the_scans_take_the_same_number_of_statements_for_one_notice_or_many(city_a, city_b, staff_a, staff_b):
    def statements():
        Notification.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            scans.scan_expiring_agreements(today=TODAY)
            scans.scan_follow_ups(today=TODAY)
        return len(queries)

    engagement = factories.EngagementFactory(city=city_a)
    factories.AgreementFactory(city=city_a, expires_on=TODAY + dt.timedelta(days=3))
    factories.FollowUpFactory(engagement=engagement, assignee=staff_a, due_on=TODAY)
    few = statements()
    for city, user in ((city_a, staff_a), (city_b, staff_b)) * 10:
        factories.AgreementFactory(city=city, expires_on=TODAY + dt.timedelta(days=20))
        factories.FollowUpFactory(
            engagement=factories.EngagementFactory(city=city), assignee=user, due_on=TODAY - dt.timedelta(days=2)
        )
    many = statements()

    assert Notification.objects.count() == 42
    assert many == few


def test_a_colleague_who_joins_later_is_told_once_and_the_others_are_not_told_again(staff_a, city_a):
    agreement = factories.AgreementFactory(city=city_a, expires_on=TODAY + dt.timedelta(days=20))
    scans.scan_expiring_agreements(today=TODAY)
    newcomer = factories.UserFactory(username="nina", role="staff", home_cities=[city_a])

    emailed = scans.scan_expiring_agreements(today=TODAY + dt.timedelta(days=1))
    scans.scan_expiring_agreements(today=TODAY + dt.timedelta(days=2))

    notices = Notification.objects.filter(agreement=agreement)
    assert sorted(notices.values_list("recipient__username", "period")) == [
        ("alice", "2026-06-21/30d"),
        ("nina", "2026-06-21/30d"),
    ]
    assert emailed == [notices.get(recipient=newcomer).pk]
