from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .emails import home_timezone
from .forms import EmailPreferencesForm
from .inbox import mark_read as mark_notifications_read
from .models import Notification
from .preferences import email_preferences, set_email_preferences

PAGE_SIZE = 50


def _back(request):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("notifications:inbox")


@login_required
def inbox(request):
    """The user's notifications, unread first, newest first within each."""
    notifications = (
        Notification.objects.inbox(request.user)
        .annotate(
            read_order=Case(When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        .order_by("read_order", "-created_at", "-id")
    )
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page, "zone": home_timezone(request.user)})


@login_required
@require_POST
def mark_read(request, pk):
    notification = get_object_or_404(Notification.objects.inbox(request.user), pk=pk)
    mark_notifications_read(user=request.user, notification_ids=[notification.pk])
    if request.htmx:
        notification.refresh_from_db()
        return render(request, "notifications/_notification.html", {"notification": notification})
    return _back(request)


@login_required
@require_POST
def mark_all_read(request):
    changed = mark_notifications_read(user=request.user)
    messages.success(request, f"Marked {changed} notification{'s' if changed != 1 else ''} read.")
    return _back(request)


@login_required
def preferences(request):
    current = email_preferences(request.user)
    form = EmailPreferencesForm(
        request.POST or None,
        user=request.user,
        initial={"emailed_kinds": [kind for kind, on in current.items() if on]},
    )
    if request.method == "POST" and form.is_valid():
        set_email_preferences(user=request.user, emailed_kinds=form.cleaned_data["emailed_kinds"])
        messages.success(request, "Your email preferences are saved.")
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})
