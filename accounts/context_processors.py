from django.utils.functional import SimpleLazyObject

from accounts.policy import reads_internal


def policy(request):
    """What the page chrome may offer the reader, from the one policy rather than role checks in
    templates: the internal surfaces (dashboard, contacts, calendar feeds) are for internal readers."""
    return {"reads_internal": SimpleLazyObject(lambda: reads_internal(getattr(request, "user", None)))}
