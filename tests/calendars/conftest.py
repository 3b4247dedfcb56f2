import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from calendars.feeds import add_years
from calendars.services import issue_feed
from compliance.models import ComplianceFlag, ComplianceRule
from tests import factories


@pytest.fixture
def today():
    return timezone.localdate()


def feed_url(user, query="", label=""):
    _feed, token = issue_feed(user=user, label=label)
    return f"/calendar/{token}.ics" + (f"?{query}" if query else "")


def read_feed(url, client=None):
    """GET a feed as a calendar program would (no session), and parse it with icalendar."""
    response = (client or Client()).get(url)
    assert response.status_code == 200, response.content[:300]
    return response, Calendar.from_ical(response.content)


def uids(calendar) -> set[str]:
    return {str(event["UID"]) for event in calendar.events}


def by_uid(calendar) -> dict:
    return {str(event["UID"]).split("@")[0]: event for event in calendar.events}


def summaries(calendar) -> str:
    return "\n".join(str(event["SUMMARY"]) for event in calendar.events)


@pytest.fixture
def records(city_a, city_b, today):
    """In each of city A and city B, one record per visibility of every kind a feed shows:
    an engagement in 10 days (three days long), an agreement whose 5th anniversary is in 20
    days, expiring in 30 and due for renewal in 40, an open follow-up due in 3 days, and an
    open compliance flag on the agreement with a deadline in 50 days."""
    made = {}
    for letter, city in (("A", city_a), ("B", city_b)):
        rule = ComplianceRule.objects.create(
            code=f"CAL-{letter}",
            jurisdiction=city.subdivision,
            name=f"Law of {letter}",
            deadline_on=today + dt.timedelta(days=50),
            required_action="Report to the state",
        )
        for visibility in ("public", "internal", "restricted"):
            label = f"{letter}-{visibility}"
            engagement = factories.EngagementFactory(
                city=city,
                title=f"Engagement {label}",
                visibility=visibility,
                status="confirmed",
                start_date=today + dt.timedelta(days=10),
                end_date=today + dt.timedelta(days=12),
            )
            agreement = factories.AgreementFactory(
                city=city,
                title=f"Agreement {label}",
                visibility=visibility,
                signed_on=add_years(today + dt.timedelta(days=20), -5),
                expires_on=today + dt.timedelta(days=30),
                renewal_due_on=today + dt.timedelta(days=40),
            )
            follow_up = factories.FollowUpFactory(
                engagement=engagement, description=f"Follow-up {label}", due_on=today + dt.timedelta(days=3)
            )
            flag = ComplianceFlag.objects.create(rule=rule, agreement=agreement)
            made[label] = {"engagement": engagement, "agreement": agreement, "follow_up": follow_up, "flag": flag}
    return made
