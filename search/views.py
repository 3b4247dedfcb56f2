"""`/search/?q=`: the page of global search (SPEC §8.1), open to everyone: each reader finds
what they may see (the public, public records and reference data)."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .api.views import Hits
from .engine import Search
from .registry import kinds

PAGE_SIZE = 20
MAX_QUERY = 200


@require_GET
def search_page(request):
    """Queries: the session and user (signed in), one count per kind, the page, its records."""
    text = " ".join(request.GET.get("q", "").replace("\x00", "").split())[:MAX_QUERY]
    kind = request.GET.get("kind") or None
    if kind not in (None, *(k.name for k in kinds())):
        kind = None
    search = Search(request.user, text, kind)
    everything = Search(request.user, text) if kind else search
    page = None
    if search.words:
        paginator = Paginator(Hits(search, search.total), PAGE_SIZE)
        try:
            page = paginator.page(request.GET.get("page") or 1)
        except Exception as error:  # noqa: BLE001 - any bad page number is "no such page"
            raise Http404("No such page.") from error
    return render(
        request,
        "search/search.html",
        {
            "q": text,
            "kind": kind,
            "search": search,
            "kinds": everything.labels() if search.words else [],
            "total": everything.total if search.words else 0,
            "page": page,
        },
    )
