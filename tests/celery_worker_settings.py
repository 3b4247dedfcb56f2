"""Settings of the Celery worker subprocess that `tests/celery_worker.py` starts: the production
settings module, pointed by the environment at the test database, the test Redis database and the
test's upload folder, with mail written to files the test can read."""

import os
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "live-worker-test-secret-not-for-production")

from diplomacy.settings import *  # noqa: E402,F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("TEST_CELERY_QUEUE", "celery")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if os.environ.get("TEST_MEDIA_ROOT"):
    MEDIA_ROOT = Path(os.environ["TEST_MEDIA_ROOT"])
if os.environ.get("TEST_EMAIL_DIR"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["TEST_EMAIL_DIR"]
