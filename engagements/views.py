from django.shortcuts import render

from accounts.policy import role_of

from .models import Agreement, Engagement


def home(request):
    """The front page; each role's own desk replaces this as the pages are built."""
    user = request.user
    context = {
        "role": role_of(user),
        "engagements": Engagement.objects.visible_to(user).select_related("city")[:20],
        "agreements": Agreement.objects.visible_to(user).select_related("city")[:20],
    }
    return render(request, "home.html", context)
