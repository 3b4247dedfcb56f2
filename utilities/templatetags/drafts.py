"""Tells the browser that a form was saved, so the draft it kept of that form can go."""

from django import template
from django.utils.html import format_html_join

register = template.Library()

SESSION_KEY = "saved_draft_paths"


def mark_saved(request) -> None:
    """Remember, for the next page shown, that the form at this path was saved."""
    paths = request.session.get(SESSION_KEY, [])
    request.session[SESSION_KEY] = [*paths, request.path][-10:]


@register.simple_tag(takes_context=True)
def saved_drafts(context):
    request = context.get("request")
    session = getattr(request, "session", None)
    if session is None or SESSION_KEY not in session:
        return ""
    return format_html_join(
        "", '<meta name="saved-draft" content="{}">', ((path,) for path in session.pop(SESSION_KEY))
    )
