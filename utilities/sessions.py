"""Django's session middleware, except that a response marked with `keep_session_as_is(response)`
does not save an unchanged session.

Sessions slide (`SESSION_SAVE_EVERY_REQUEST`): every page a person opens keeps them signed in.
A type-ahead answers every keystroke; saving the session for each would add an UPDATE and a
COMMIT to a request that must answer in a few milliseconds, and the page it types on has just
refreshed the session anyway.
"""

from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.utils.cache import patch_vary_headers

MARK = "_keep_session_as_is"


def keep_session_as_is(response):
    setattr(response, MARK, True)
    return response


class SessionMiddleware(DjangoSessionMiddleware):
    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if getattr(response, MARK, False) and session is not None and not session.modified:
            if session.accessed:
                patch_vary_headers(response, ("Cookie",))
            return response
        return super().process_response(request, response)
