"""The access policy as a matrix: role × action × visibility × own/other city.

The expected table is written out from SPEC §2 so a change to the policy shows up as a failing row.
"""

import pytest

from accounts.policy import Action, can
from engagements.models import Agreement, Engagement, FollowUp, Review
from tests import factories

PRINCIPALS = ["anonymous", "partner", "staff_a", "staff_b", "liaison", "admin"]

# Who may VIEW an engagement of city A with the given visibility.
VIEW = {
    "public": {"anonymous", "partner", "staff_a", "staff_b", "liaison", "admin"},
    "internal": {"staff_a", "staff_b", "liaison", "admin"},
    "restricted": {"staff_a", "liaison", "admin"},
}
# Who may CHANGE or DELETE it: only the owning city's staff and admins, and only what they see.
WRITE = {"public": {"staff_a", "admin"}, "internal": {"staff_a", "admin"}, "restricted": {"staff_a", "admin"}}


def principal(cast, name):
    from django.contrib.auth.models import AnonymousUser

    return cast[name] or AnonymousUser()


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Engagement, Agreement])
@pytest.mark.parametrize("visibility", ["public", "internal", "restricted"])
@pytest.mark.parametrize("name", PRINCIPALS)
def test_view_and_write_follow_visibility_and_home_city(cast, city_a, model, visibility, name):
    factory = factories.EngagementFactory if model is Engagement else factories.AgreementFactory
    record = factory(city=city_a, visibility=visibility)
    user = principal(cast, name)

    assert can(user, Action.VIEW, record) is (name in VIEW[visibility])
    assert can(user, Action.CHANGE, record) is (name in WRITE[visibility])
    assert can(user, Action.DELETE, record) is (name in WRITE[visibility])
    visible_ids = set(model.objects.visible_to(user).values_list("id", flat=True))
    assert (record.id in visible_ids) is (name in VIEW[visibility])


@pytest.mark.django_db
@pytest.mark.parametrize("name", PRINCIPALS)
def test_only_home_city_staff_and_admins_create_records_for_a_city(cast, city_a, name):
    user = principal(cast, name)
    expected = name in {"staff_a", "admin"}
    assert can(user, Action.CREATE, Engagement(city=city_a)) is expected
    assert can(user, Action.CREATE, Agreement(city=city_a)) is expected
    assert can(user, Action.IMPORT, city_a) is expected


@pytest.mark.django_db
@pytest.mark.parametrize("visibility", ["public", "internal", "restricted"])
@pytest.mark.parametrize("name", PRINCIPALS)
def test_only_liaisons_and_admins_review_what_they_see(cast, city_a, visibility, name):
    engagement = factories.EngagementFactory(city=city_a, visibility=visibility)
    assert can(principal(cast, name), Action.REVIEW, engagement) is (name in {"liaison", "admin"})
    review = Review(engagement=engagement)
    assert can(principal(cast, name), Action.CREATE, review) is (name in {"liaison", "admin"})


@pytest.mark.django_db
@pytest.mark.parametrize("visibility", ["public", "internal", "restricted"])
@pytest.mark.parametrize("name", PRINCIPALS)
def test_follow_ups_are_never_public_and_follow_their_engagement(cast, city_a, visibility, name):
    follow_up = factories.FollowUpFactory(engagement=factories.EngagementFactory(city=city_a, visibility=visibility))
    user = principal(cast, name)
    internal_readers = VIEW[visibility] - {"anonymous", "partner"}
    assert can(user, Action.VIEW, follow_up) is (name in internal_readers)
    assert can(user, Action.CHANGE, follow_up) is (name in {"staff_a", "admin"})
    visible = set(FollowUp.objects.visible_to(user).values_list("id", flat=True))
    assert (follow_up.id in visible) is (name in internal_readers)


@pytest.mark.django_db
@pytest.mark.parametrize("name", PRINCIPALS)
def test_memberships_and_offices_are_read_by_all_and_written_by_their_city(cast, city_a, name):
    membership = factories.MembershipFactory(city=city_a)
    office = factories.OfficeFactory(city=city_a)
    user = principal(cast, name)
    for record in (membership, office):
        assert can(user, Action.VIEW, record)
        assert can(user, Action.CHANGE, record) is (name in {"staff_a", "admin"})


@pytest.mark.django_db
@pytest.mark.parametrize("name", PRINCIPALS)
def test_reference_data_is_written_by_admins_only(cast, city_a, name):
    user = principal(cast, name)
    assert can(user, Action.VIEW, city_a)
    assert can(user, Action.CHANGE, city_a) is (name == "admin")
    organization = factories.OrganizationFactory()
    assert can(user, Action.CHANGE, organization) is (name in {"staff_a", "staff_b", "admin"})


@pytest.mark.django_db
def test_staff_without_home_city_reads_internal_but_no_restricted(city_a):
    loner = factories.UserFactory(role="staff")
    restricted = factories.EngagementFactory(city=city_a, visibility="restricted")
    internal = factories.EngagementFactory(city=city_a, visibility="internal")
    assert list(Engagement.objects.visible_to(loner)) == [internal]
    assert not can(loner, Action.VIEW, restricted)
