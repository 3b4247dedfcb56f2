# ruff: noqa: F403, F405 - the production settings, overridden
"""The production settings, served with the benchmark-only URLconf (the bare comparison view) and
without what a benchmark on plain HTTP cannot use (TLS redirects, secure cookies) or should not
measure (the partner throttle, a static-files manifest that needs collectstatic)."""

import os

os.environ.setdefault("DEBUG", "0")

from diplomacy.settings import *  # noqa: E402

ROOT_URLCONF = "benchmarks.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"partner": "1000000/min"}
LOGGING["root"]["level"] = "WARNING"
