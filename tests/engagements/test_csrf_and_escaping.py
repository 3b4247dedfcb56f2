"""Every form refuses a post without its CSRF token, and text people typed is never markup."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cities.models import NetworkMembership, Organization
from engagements.models import Agreement, Engagement, FollowUp
from tests import factories

pytestmark = pytest.mark.django_db

EVIL = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"


@pytest.fixture
def csrf_client(staff_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_a)
    return client


def test_posts_without_the_token_change_nothing(csrf_client, city_a):
    engagement = factories.EngagementFactory(city=city_a, title="Kept")
    follow_up = factories.FollowUpFactory(engagement=engagement)
    network = factories.NetworkFactory()
    posts = [
        (reverse("engagement-create"), {"title": "x"}),
        (reverse("engagement-edit", args=[engagement.pk]), {"title": "Changed"}),
        (reverse("agreement-create"), {"title": "x"}),
        (reverse("follow-up-create", args=[engagement.pk]), {"description": "x"}),
        (reverse("follow-up-done", args=[follow_up.pk]), {}),
        (reverse("organization-create"), {"organization-name": "X", "organization-kind": "ngo"}),
        (reverse("membership-create"), {"city": city_a.pk, "network": network.pk, "role": "member"}),
        (reverse("office-edit", args=[city_a.slug]), {"name": "Office"}),
        (reverse("password_change"), {"old_password": "correct horse battery"}),
    ]
    for url, data in posts:
        response = csrf_client.post(url, data)
        assert response.status_code == 403, url
        assert "This form has expired" in response.content.decode(), url
    engagement.refresh_from_db()
    follow_up.refresh_from_db()
    assert engagement.title == "Kept" and follow_up.done_at is None
    assert Engagement.objects.count() == 1 and not Agreement.objects.exists()
    assert FollowUp.objects.count() == 1 and not Organization.objects.exists()
    assert not NetworkMembership.objects.exists()


def test_a_denied_change_says_why_in_the_site_layout(staff_b, city_a):
    engagement = factories.EngagementFactory(city=city_a)
    client = Client()
    client.force_login(staff_b)
    response = client.get(reverse("engagement-edit", args=[engagement.pk]))
    assert response.status_code == 403
    assert "only the staff of its city can change it" in response.content.decode()


def test_agreement_and_membership_text_is_escaped(staff_a, city_a):
    agreement = factories.AgreementFactory(
        city=city_a, title=EVIL, summary=EVIL, expires_on=timezone.localdate() + dt.timedelta(days=10)
    )
    membership = factories.MembershipFactory(city=city_a, notes=EVIL, network=factories.NetworkFactory(name=EVIL))
    organization = factories.OrganizationFactory(name=EVIL)
    agreement.counterpart_organizations.add(organization)
    client = Client()
    client.force_login(staff_a)
    pages = [
        reverse("agreement-detail", args=[agreement.pk]),
        reverse("agreement-edit", args=[agreement.pk]),
        reverse("agreement-list"),
        reverse("membership-detail", args=[membership.pk]),
        reverse("membership-list"),
        reverse("organization-search") + "?q=script",
        reverse("home"),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert ESCAPED in html, url
