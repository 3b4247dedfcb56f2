"""The one write path: validation, permission, derived countries, optimistic locking, history."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from engagements.models import Engagement
from engagements.services import StaleEdit, add_review, delete_city_record, save_engagement
from tests import factories

pytestmark = pytest.mark.django_db


def engagement_data(city, **extra):
    return {
        "city": city,
        "title": "Delegation from Nagoya",
        "kind": "inbound_delegation",
        "status": "completed",
        "start_date": dt.date(2026, 5, 1),
        **extra,
    }


def test_staff_log_an_engagement_for_their_city_and_history_says_who(staff_a, city_a, foreign_city):
    organization = factories.OrganizationFactory(country=factories.country("DE"))
    engagement = save_engagement(
        actor=staff_a,
        data=engagement_data(
            city_a,
            counterpart_cities=[foreign_city],
            counterpart_organizations=[organization],
            participants=[{"name": "Kraków Mayor", "side": "counterpart"}],
        ),
    )
    assert engagement.created_by == staff_a
    assert set(engagement.counterpart_countries.values_list("iso2", flat=True)) == {"JP", "DE"}
    assert list(engagement.participants.values_list("name", flat=True)) == ["Kraków Mayor"]
    history = list(engagement.history.all())
    assert len(history) == 1
    assert history[0].history_user == staff_a and history[0].history_type == "+"


def test_a_change_is_recorded_with_what_changed(staff_a, city_a):
    engagement = save_engagement(actor=staff_a, data=engagement_data(city_a))
    save_engagement(actor=staff_a, engagement=engagement, data={"title": "Visit from Nagoya"})
    newest, previous = engagement.history.all()[:2]
    delta = newest.diff_against(previous, excluded_fields=["version"])
    assert [(c.field, c.old, c.new) for c in delta.changes] == [
        ("title", "Delegation from Nagoya", "Visit from Nagoya")
    ]
    assert newest.version == 2


def test_staff_cannot_log_for_another_city(staff_b, city_a):
    with pytest.raises(PermissionDenied):
        save_engagement(actor=staff_b, data=engagement_data(city_a))
    assert not Engagement.objects.exists()


def test_staff_cannot_move_their_record_into_another_city(staff_a, city_a, city_b):
    engagement = save_engagement(actor=staff_a, data=engagement_data(city_a))
    with pytest.raises(PermissionDenied):
        save_engagement(actor=staff_a, engagement=engagement, data={"city": city_b})
    engagement.refresh_from_db()
    assert engagement.city == city_a and engagement.version == 1


def test_a_record_is_not_its_own_counterpart(staff_a, city_a):
    with pytest.raises(ValidationError) as error:
        save_engagement(actor=staff_a, data=engagement_data(city_a, counterpart_cities=[city_a]))
    assert "counterpart_cities" in error.value.message_dict
    assert not Engagement.objects.exists()


def test_end_before_start_is_a_field_error(staff_a, city_a):
    with pytest.raises(ValidationError):
        save_engagement(actor=staff_a, data=engagement_data(city_a, end_date=dt.date(2026, 4, 1)))


def test_nul_characters_are_refused_before_the_database(staff_a, city_a):
    with pytest.raises(ValidationError) as error:
        save_engagement(actor=staff_a, data=engagement_data(city_a, summary="bad\x00text"))
    assert "summary" in error.value.message_dict


def test_a_stale_edit_changes_nothing(staff_a, city_a):
    engagement = save_engagement(actor=staff_a, data=engagement_data(city_a))
    save_engagement(actor=staff_a, engagement=engagement, data={"title": "First"}, expected_version=1)
    with pytest.raises(StaleEdit) as error:
        save_engagement(actor=staff_a, engagement=engagement, data={"title": "Second"}, expected_version=1)
    assert error.value.current.title == "First"
    engagement.refresh_from_db()
    assert (engagement.title, engagement.version) == ("First", 2)


def test_delete_is_kept_in_history(staff_a, city_a):
    engagement = save_engagement(actor=staff_a, data=engagement_data(city_a))
    delete_city_record(actor=staff_a, record=engagement)
    assert not Engagement.objects.exists()
    assert Engagement.history.filter(history_type="-", history_user=staff_a).count() == 1


def test_review_sets_review_status_and_only_liaisons_review(liaison, staff_a, city_a):
    engagement = save_engagement(actor=staff_a, data=engagement_data(city_a))
    with pytest.raises(PermissionDenied):
        add_review(reviewer=staff_a, engagement=engagement, decision="flagged")
    add_review(reviewer=liaison, engagement=engagement, decision="needs_follow_up", comment="Call us")
    engagement.refresh_from_db()
    assert engagement.review_status == "needs_follow_up"
