"""Pages every deployment has whatever its domain: the health check and the favicon."""

from functools import cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_safe


@never_cache
@require_safe
def healthz(request):
    """200 when the database (and the broker, when one is configured) answer; 503 otherwise."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        checks["database"] = f"error: {exc.__class__.__name__}"
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


@cache
def _favicon() -> bytes:
    with open(finders.find("img/favicon.svg"), "rb") as icon:
        return icon.read()


@cache_control(max_age=86_400, public=True)
@require_safe
def favicon(request):
    """`/favicon.ico`, asked for by browsers that do not read the pages' `<link rel="icon">`:
    the same SVG icon, so the address never answers 404."""
    return HttpResponse(_favicon(), content_type="image/svg+xml")
