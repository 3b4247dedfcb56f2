"""How often an API caller may ask (DRF's DEFAULT_THROTTLE_CLASSES)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .models import Role
from .policy import role_of


class PartnerRateThrottle(SimpleRateThrottle):
    """Partners' tokens share the API fairly: at most REST_FRAMEWORK's
    DEFAULT_THROTTLE_RATES["partner"] requests per user, then 429 with Retry-After.
    Staff, liaisons and admins are not throttled: they are few and known."""

    scope = "partner"

    def get_rate(self):
        # Read at request time (not class definition), so a changed setting takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        if role_of(request.user) != Role.PARTNER:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
