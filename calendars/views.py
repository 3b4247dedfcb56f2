"""`/calendar/`: issue, list and revoke personal feed URLs; `/calendar/<token>.ics`: the feed.

The feed is answered to whoever holds its URL (calendar programs send no session): the token
names the owner, and everything in it is read through the access policy as that owner."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from . import services
from .feeds import FeedBuilder
from .filters import FeedFilterError, parse_filters
from .forms import IssueFeedForm
from .models import CalendarFeed

# What `secrets.token_urlsafe` makes; anything else is not a feed, and costs no query.
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,128}")
ICS = "text/calendar; charset=utf-8"
PLAIN = "text/plain; charset=utf-8"


@login_required
def index(request):
    if not services.may_subscribe(request.user):
        raise PermissionDenied("Calendar feeds are for staff, liaisons and administrators.")
    form = IssueFeedForm(request.POST if request.method == "POST" else None, user=request.user)
    issued = None
    if request.method == "POST" and form.is_valid():
        feed, token = services.issue_feed(user=request.user, label=form.cleaned_data["label"], covers=form.describe())
        url = request.build_absolute_uri(reverse("calendars:feed", args=[token]))
        query = form.feed_query()
        if query:
            url += "?" + query
        issued = {"feed": feed, "url": url, "webcal": re.sub(r"^https?://", "webcal://", url)}
        form = IssueFeedForm(user=request.user)
    feeds = CalendarFeed.objects.of(request.user).active()
    response = render(request, "calendars/index.html", {"form": form, "feeds": feeds, "issued": issued})
    if issued:
        # The one response that holds the secret: kept by no cache.
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def revoke(request, pk):
    feed = get_object_or_404(CalendarFeed.objects.of(request.user).active(), pk=pk)
    services.revoke_feed(actor=request.user, feed=feed)
    messages.success(request, f"Revoked “{feed}”: its URL no longer works.")
    return redirect("calendars:index")


@require_safe
def feed(request, token):
    if not TOKEN.fullmatch(token):
        return HttpResponseNotFound("No such calendar feed.", content_type=PLAIN)
    subscription = services.feed_for_token(token)
    if subscription is None:
        return HttpResponseNotFound("No such calendar feed.", content_type=PLAIN)
    try:
        filters = parse_filters(request.GET)
    except FeedFilterError as error:
        return HttpResponseBadRequest(str(error), content_type=PLAIN)
    services.note_use(subscription)
    owner = subscription.user
    builder = FeedBuilder(user=owner, filters=filters, base_url=request.build_absolute_uri("/"))
    name = "City Diplomacy Tracker" + (f" · {subscription.label}" if subscription.label else "")
    calendar = builder.calendar(name=name, uid=f"feed-{subscription.pk}")
    response = HttpResponse(calendar.to_ical(), content_type=ICS)
    response["Content-Disposition"] = 'inline; filename="city-diplomacy.ics"'
    # A revoked URL must stop answering at once; the feed is one person's.
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
