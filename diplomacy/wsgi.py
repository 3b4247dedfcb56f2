import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diplomacy.settings")

application = get_wsgi_application()

# What loading the app made (modules, URL patterns and the views they import, model metadata)
# lives as long as the process. Frozen, it is no longer walked by every full collection: at
# ~160,000 objects each took 70-80 ms, every few hundred requests, and a worker's queued requests
# waited through it (most of an API list's slowest 1%); after freezing, about 20 ms.
get_resolver().url_patterns  # noqa: B018 - imports the URLconf and every view now, not on the first request
gc.freeze()
