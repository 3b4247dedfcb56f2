from django import template

from ..models import Notification

register = template.Library()


@register.inclusion_tag("notifications/_latest.html", takes_context=True)
def latest_notifications(context, limit=5):
    """The user's newest unread notifications, for a desk or dashboard panel (one query)."""
    user = context["request"].user
    return {
        "notifications": list(Notification.objects.inbox(user).unread().order_by("-created_at", "-id")[:limit]),
        "unread": context.get("unread_notifications", 0),
    }
