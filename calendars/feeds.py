"""A personal feed's events (SPEC §8.4), read through the access policy as the feed's owner:
upcoming (and recent) engagements, agreement anniversaries (1, 5, 10, 25, 50 years after
`signed_on`), expiries, renewals, open follow-ups due and the deadlines of open compliance flags.

Everything is an all-day event (`VALUE=DATE`; `DTEND` is the day after the last day, as RFC 5545
has it). Each event's `UID` is made of what it is about (the record's kind and id, the event's kind
and, for anniversaries, the year count), so it is the same on every request and a calendar program
updates the event in place when the record changes.

The feed is bounded: events from WINDOW_PAST ago to WINDOW_AHEAD_YEARS ahead (an engagement that
began more than LONGEST_ENGAGEMENT before that and is still going on is left out), at most
MAX_RECORDS records per source (the latest first), and it is read in a fixed number of queries
whatever the number of records (one per source).
"""

import dataclasses
import datetime as dt
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from icalendar import Calendar, Event, Timezone, TimezoneStandard

from accounts.policy import restrict
from compliance.models import ComplianceFlag, FlagStatus
from engagements.models import Agreement, Engagement, FollowUp

from .filters import KINDS, FeedFilters

ANNIVERSARY_YEARS = (1, 5, 10, 25, 50)
WINDOW_PAST = dt.timedelta(days=366)
WINDOW_AHEAD_YEARS = 5
MAX_RECORDS = 2000
LONGEST_ENGAGEMENT = dt.timedelta(days=366)
# How long a text field of a record may run in an event's DESCRIPTION.
MAX_TEXT = 1000
PRODID = "-//City Diplomacy Tracker//Calendar feed//EN"
REFRESH = dt.timedelta(hours=1)
FALLBACK_DOMAIN = "city-diplomacy-tracker"

# Agreements no anniversary, expiry or renewal is planned for any more.
ENDED_AGREEMENT = (Agreement.Status.TERMINATED,)
ENGAGEMENT_STATUS = {
    Engagement.Status.PLANNED: "TENTATIVE",
    Engagement.Status.CONFIRMED: "CONFIRMED",
    Engagement.Status.COMPLETED: "CONFIRMED",
}


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day `years` later (or earlier); 29 February falls on 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, and the target year is not a leap year
        return day.replace(year=day.year + years, day=28)


@dataclasses.dataclass(frozen=True)
class Window:
    today: dt.date
    start: dt.date
    end: dt.date

    @classmethod
    def around(cls, today: dt.date) -> "Window":
        return cls(today=today, start=today - WINDOW_PAST, end=add_years(today, WINDOW_AHEAD_YEARS))

    def holds(self, day: dt.date | None) -> bool:
        return day is not None and self.start <= day <= self.end


def ordinal_years(years: int) -> str:
    return "1 year" if years == 1 else f"{years} years"


def uid_domain() -> str:
    """The domain part of every UID: this site's host name (RFC 5545 §3.8.4.7 recommends one)."""
    return urlsplit(settings.SITE_URL).hostname or FALLBACK_DOMAIN


def _clip(text: str) -> str:
    text = (text or "").strip()
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1].rstrip() + "…"


def _description(*lines) -> str:
    return "\n".join(_clip(str(line)) for line in lines if line)


@dataclasses.dataclass
class FeedBuilder:
    """Builds one feed for `user` (the feed's owner, never the requester's session)."""

    user: object
    filters: FeedFilters
    base_url: str  # scheme and host of the links, e.g. "https://diplomacy.example.gov"
    today: dt.date = dataclasses.field(default_factory=timezone.localdate)
    generated_at: dt.datetime = dataclasses.field(default_factory=timezone.now)
    truncated: list = dataclasses.field(default_factory=list)

    def __post_init__(self):
        self.window = Window.around(self.today)
        self.domain = uid_domain()

    # --- scope -----------------------------------------------------------------------------

    def scope_q(self, prefix: str = "") -> Q:
        """The `?city=` and `?state=` filters on the owning city of a record reached by `prefix`."""
        q = Q()
        if self.filters.city_ids:
            q &= Q(**{f"{prefix}city_id__in": sorted(self.filters.city_ids)})
        if self.filters.states:
            q &= Q(**{f"{prefix}city__subdivision__in": sorted(self.filters.states)})
        return q

    def capped(self, queryset, source: str) -> list:
        rows = list(queryset[: MAX_RECORDS + 1])
        if len(rows) > MAX_RECORDS:
            self.truncated.append(source)
            rows = rows[:MAX_RECORDS]
        return rows

    # --- links and identity ----------------------------------------------------------------

    def link(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def uid(self, *parts) -> str:
        return "-".join(str(part) for part in parts) + "@" + self.domain

    def event(self, *, uid, summary, day, last_day=None, description="", url="", category, record=None, **extra):
        event = Event.new(
            uid=uid,
            # No METHOD: DTSTAMP is when the information was last revised (RFC 5545 §3.8.7.2).
            stamp=record.updated_at if record is not None else self.generated_at,
            start=day,
            end=(last_day or day) + dt.timedelta(days=1),
            summary=summary,
            description=description or None,
            url=url or None,
            categories=[category],
            last_modified=record.updated_at if record is not None else None,
            sequence=max(record.version - 1, 0) if record is not None else None,
        )
        event.add("transp", extra.pop("transparency", "TRANSPARENT"))
        for name, value in extra.items():
            if value:
                event.add(name.replace("_", "-"), value)
        return event

    # --- sources ---------------------------------------------------------------------------

    def engagement_events(self):
        window = self.window
        engagements = (
            restrict(Engagement.objects.all(), self.user)
            .filter(self.scope_q())
            .exclude(status=Engagement.Status.CANCELLED)
            # Begun in the window, or before it and still going on: the start date's index bounds
            # the scan, so one that began more than LONGEST_ENGAGEMENT before the window is left out.
            .filter(start_date__gte=window.start - LONGEST_ENGAGEMENT, start_date__lte=window.end)
            .filter(Q(start_date__gte=window.start) | Q(end_date__gte=window.start))
            .select_related("city", "location_city")
            .order_by("-start_date", "-id")
        )
        for engagement in self.capped(engagements, "engagements"):
            place = ", ".join(
                part for part in (engagement.venue, engagement.location_city and engagement.location_city.label) if part
            )
            url = self.link(f"/engagements/{engagement.pk}/")
            yield self.event(
                uid=self.uid("engagement", engagement.pk),
                summary=f"{engagement.title} ({engagement.city.name})",
                day=engagement.start_date,
                last_day=engagement.end_date,
                description=_description(
                    f"{engagement.get_kind_display()} · {engagement.get_status_display()}",
                    f"City: {engagement.city.label}",
                    engagement.summary,
                    url,
                ),
                url=url,
                category=KINDS["engagements"],
                record=engagement,
                location=place,
                status=ENGAGEMENT_STATUS.get(engagement.status),
                transparency="OPAQUE",
            )

    def agreement_events(self):
        window, wants = self.window, self.filters.wants
        when = Q()
        if wants("anniversaries"):
            for years in ANNIVERSARY_YEARS:
                # One day of slack each side: 29 February's anniversaries fall on 28 February.
                when |= Q(
                    signed_on__gte=add_years(window.start, -years) - dt.timedelta(days=1),
                    signed_on__lte=add_years(window.end, -years) + dt.timedelta(days=1),
                )
        if wants("expiries"):
            when |= Q(expires_on__gte=window.start, expires_on__lte=window.end)
        if wants("renewals"):
            when |= Q(renewal_due_on__gte=window.start, renewal_due_on__lte=window.end)
        agreements = (
            restrict(Agreement.objects.all(), self.user)
            .filter(self.scope_q())
            .exclude(status__in=ENDED_AGREEMENT)
            .filter(when)
            .select_related("city")
            .order_by("-id")
        )
        for agreement in self.capped(agreements, "agreements"):
            url = self.link(f"/agreements/{agreement.pk}/")
            about = _description(
                f"{agreement.get_kind_display()} · {agreement.get_status_display()}",
                f"City: {agreement.city.label}",
                agreement.signed_on and f"Signed on {agreement.signed_on.isoformat()}",
                agreement.summary,
                url,
            )
            common = {"url": url, "record": agreement, "description": about}
            if wants("anniversaries") and agreement.signed_on:
                for years in ANNIVERSARY_YEARS:
                    day = add_years(agreement.signed_on, years)
                    if window.holds(day):
                        yield self.event(
                            uid=self.uid("agreement", agreement.pk, "anniversary", years),
                            summary=f"{ordinal_years(years)} since signing: {agreement.title} ({agreement.city.name})",
                            day=day,
                            category=KINDS["anniversaries"],
                            **common,
                        )
            if wants("expiries") and window.holds(agreement.expires_on):
                yield self.event(
                    uid=self.uid("agreement", agreement.pk, "expires"),
                    summary=f"Expires: {agreement.title} ({agreement.city.name})",
                    day=agreement.expires_on,
                    category=KINDS["expiries"],
                    **common,
                )
            if wants("renewals") and window.holds(agreement.renewal_due_on):
                yield self.event(
                    uid=self.uid("agreement", agreement.pk, "renewal"),
                    summary=f"Renewal due: {agreement.title} ({agreement.city.name})",
                    day=agreement.renewal_due_on,
                    category=KINDS["renewals"],
                    **common,
                )

    def follow_up_events(self):
        window = self.window
        follow_ups = (
            restrict(FollowUp.objects.open(), self.user)
            .filter(self.scope_q("engagement__"))
            .filter(due_on__gte=window.start, due_on__lte=window.end)
            .select_related("engagement__city", "assignee")
            .order_by("-due_on", "-id")
        )
        for follow_up in self.capped(follow_ups, "follow-ups"):
            engagement = follow_up.engagement
            url = self.link(f"/engagements/{engagement.pk}/")
            first_line = follow_up.description.strip().splitlines()[0] if follow_up.description.strip() else ""
            yield self.event(
                uid=self.uid("follow-up", follow_up.pk),
                summary=f"Follow-up due: {first_line[:120]}",
                day=follow_up.due_on,
                description=_description(
                    follow_up.description,
                    f"Engagement: {engagement.title} ({engagement.city.label})",
                    follow_up.assignee and f"Assigned to {follow_up.assignee.display_name()}",
                    url,
                ),
                url=url,
                category=KINDS["follow-ups"],
            )

    def compliance_events(self):
        window = self.window
        flags = (
            restrict(ComplianceFlag.objects.all(), self.user)
            .filter(status=FlagStatus.OPEN, rule__deadline_on__gte=window.start, rule__deadline_on__lte=window.end)
            .filter(
                (Q(agreement__isnull=False) & self.scope_q("agreement__"))
                | (Q(engagement__isnull=False) & self.scope_q("engagement__"))
            )
            .select_related("rule", "agreement__city", "engagement__city")
            .order_by("-rule__deadline_on", "-id")
        )
        for flag in self.capped(flags, "compliance"):
            record, rule = flag.record, flag.rule
            path = f"/{'agreements' if flag.agreement_id else 'engagements'}/{record.pk}/"
            url = self.link(path)
            yield self.event(
                uid=self.uid("compliance-flag", flag.pk, "deadline"),
                summary=f"Compliance deadline ({rule.code}): {record.title} ({record.city.name})",
                day=rule.deadline_on,
                description=_description(
                    f"{rule.name} ({rule.jurisdiction})",
                    rule.citation,
                    rule.required_action and f"Required: {rule.required_action}",
                    rule.url,
                    url,
                ),
                url=url,
                category=KINDS["compliance"],
            )

    # --- the calendar ----------------------------------------------------------------------

    def events(self) -> list[Event]:
        wants = self.filters.wants
        events = []
        if wants("engagements"):
            events += self.engagement_events()
        if wants("anniversaries") or wants("expiries") or wants("renewals"):
            events += self.agreement_events()
        if wants("follow-ups"):
            events += self.follow_up_events()
        if wants("compliance"):
            events += self.compliance_events()
        events.sort(key=lambda event: (event.start, str(event["UID"])))
        return events

    def calendar(self, *, name: str, uid: str) -> Calendar:
        events = self.events()
        description = "Engagements, agreement dates, follow-ups and compliance deadlines you may see."
        if self.truncated:
            description += (
                f" Only the latest {MAX_RECORDS} records of {', '.join(self.truncated)} are here:"
                " narrow the feed with ?city= or ?state=."
            )
        calendar = Calendar.new(prodid=PRODID, name=name, description=description, uid=self.uid(uid))
        calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT1H")  # the same, for programs that read only this one
        for event in events:
            calendar.add_component(event)
        if not events:
            # RFC 5545 wants at least one component in a calendar; an event-less feed holds the
            # (unused) UTC time zone, which every program reads as nothing to show.
            calendar.add_component(utc_timezone())
        return calendar


def utc_timezone() -> Timezone:
    standard = TimezoneStandard()
    standard.add("dtstart", dt.datetime(1970, 1, 1))  # noqa: DTZ001 - a VTIMEZONE's DTSTART is local time
    standard.add("tzoffsetfrom", dt.timedelta(0))
    standard.add("tzoffsetto", dt.timedelta(0))
    standard.add("tzname", "UTC")
    timezone_component = Timezone()
    timezone_component.add("tzid", "UTC")
    timezone_component.add_component(standard)
    return timezone_component
