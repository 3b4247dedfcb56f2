"""A staff member's desk: what is coming up and what needs doing for their home cities."""

import datetime as dt

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.policy import home_city_ids
from cities.models import City

from .models import Agreement, Engagement, FollowUp, Review

UPCOMING_DAYS = 60
FOLLOW_UP_DAYS = 14
EXPIRY_DAYS = 90
ROWS = 10


def staff_desk(request) -> HttpResponse:
    """The front page of a staff user: upcoming engagements, follow-ups due, agreements expiring
    within 90 days and the latest liaison reviews of their cities' engagements."""
    user = request.user
    today = timezone.localdate()
    city_ids = sorted(home_city_ids(user))
    engagements = Engagement.objects.visible_to(user).filter(city_id__in=city_ids)
    upcoming = (
        engagements.filter(start_date__gte=today, start_date__lte=today + dt.timedelta(days=UPCOMING_DAYS))
        .exclude(status=Engagement.Status.CANCELLED)
        .select_related("city", "location_city")
        .order_by("start_date", "id")[:ROWS]
    )
    follow_ups = (
        FollowUp.objects.visible_to(user)
        .open()
        .filter(engagement__city_id__in=city_ids, due_on__lte=today + dt.timedelta(days=FOLLOW_UP_DAYS))
        .select_related("engagement", "assignee")
        .order_by("due_on", "id")[:ROWS]
    )
    expiring = (
        Agreement.objects.visible_to(user)
        .filter(city_id__in=city_ids, expires_on__gte=today, expires_on__lte=today + dt.timedelta(days=EXPIRY_DAYS))
        .select_related("city")
        .order_by("expires_on", "id")[:ROWS]
    )
    reviews = (
        Review.objects.visible_to(user)
        .filter(engagement__city_id__in=city_ids)
        .select_related("engagement", "reviewer")
        .order_by("-created_at", "-id")[:ROWS]
    )
    return render(
        request,
        "engagements/desk.html",
        {
            "cities": City.objects.filter(pk__in=city_ids).order_by("name"),
            "today": today,
            "upcoming": upcoming,
            "follow_ups": follow_ups,
            "expiring": expiring,
            "reviews": reviews,
            "upcoming_days": UPCOMING_DAYS,
            "follow_up_days": FOLLOW_UP_DAYS,
            "expiry_days": EXPIRY_DAYS,
        },
    )
