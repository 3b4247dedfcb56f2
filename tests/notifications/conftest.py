"""Fixtures for notification tests: a real SMTP server on loopback, and the people and places
notifications go to (in addition to the shared cast)."""

import socket
import threading
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from accounts.models import PortfolioState
from tests import factories


class SMTPInbox:
    """What the SMTP server received. `refuse_next` makes it answer the next DATA commands with a
    temporary failure, as a busy mail server does."""

    def __init__(self):
        self.messages = []
        self.refuse_next = 0
        self.refused = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            if self.refuse_next:
                self.refuse_next -= 1
                self.refused += 1
                return "451 4.3.0 Mail server busy, try again later"
            self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 2.0.0 Message accepted for delivery"

    def to(self, address):
        return [m for m in self.messages if address in m["To"]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1; Django's SMTP backend points at it for the test."""
    inbox = SMTPInbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    yield inbox
    controller.stop()


@pytest.fixture
def liaison_ca(db):
    """A liaison whose portfolio is California (city A's state)."""
    user = factories.UserFactory(username="carla", role="liaison")
    PortfolioState.objects.create(user=user, subdivision="US-CA")
    return user


@pytest.fixture
def liaison_ny(db):
    """A liaison whose portfolio is New York only: covers neither city A nor city B."""
    user = factories.UserFactory(username="nora", role="liaison")
    PortfolioState.objects.create(user=user, subdivision="US-NY")
    return user


@pytest.fixture
def colleague_a(city_a):
    """Another staff member of city A."""
    return factories.UserFactory(username="amir", role="staff", home_cities=[city_a])
