"""The visibility field, the most consequential of the forms, says in one line per choice who will
see the record; and each line is true: the people it names open the record, the others do not."""

import datetime as dt
import re
from html import unescape

import pytest
from django.test import Client

from engagements.services import save_agreement, save_engagement

pytestmark = pytest.mark.django_db

LINES = {
    "public": "Public — anyone, including the public portal, partners and visitors who are not signed in",
    "internal": "Internal — every signed-in city staff member, federal liaisons and administrators; "
    "not partners or the public",
    "restricted": "Restricted — only this city's own staff, federal liaisons and administrators",
}
# Who each line says will see the record (staff_a is of the record's city, staff_b of another).
SEES = {
    "public": {"anonymous", "partner", "staff_a", "staff_b", "liaison", "admin"},
    "internal": {"staff_a", "staff_b", "liaison", "admin"},
    "restricted": {"staff_a", "liaison", "admin"},
}


def choices_on(page: str) -> dict[str, str]:
    """The visibility radio buttons of a form: value -> the text of its label."""
    found = {}
    for match in re.finditer(r'<label for="(id_visibility_\d)">(.*?)</label>', page, re.S):
        value = re.search(rf'<input[^>]*value="(\w+)"[^>]*id="{match[1]}"', page)[1]
        found[value] = " ".join(unescape(re.sub(r"<[^>]+>", "", match[2])).split())
    return found


@pytest.mark.parametrize("path", ["/engagements/new/", "/agreements/new/"])
def test_each_visibility_choice_says_who_will_see_the_record(staff_a, city_a, path):
    client = Client()
    client.force_login(staff_a)
    page = client.get(path).content.decode()
    assert choices_on(page) == LINES
    assert "Who will see this record, on every page, list, export and the API." in page
    # The explanation is tied to the choices for assistive technology.
    assert re.search(r'<fieldset aria-describedby="id_visibility_helptext"', page)


@pytest.mark.parametrize("visibility", LINES)
def test_each_line_is_true(cast, city_a, foreign_city, visibility):
    staff_a = cast["staff_a"]
    engagement = save_engagement(
        actor=staff_a,
        data={"city": city_a, "title": "A visit", "kind": "other", "status": "planned",
              "start_date": dt.date(2026, 5, 1), "visibility": visibility},
    )  # fmt: skip
    agreement = save_agreement(
        actor=staff_a,
        data={"city": city_a, "title": "A pact", "kind": "other", "status": "active", "visibility": visibility},
    )
    for principal, user in cast.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        for path in (f"/engagements/{engagement.pk}/", f"/agreements/{agreement.pk}/"):
            sees = client.get(path).status_code == 200
            assert sees == (principal in SEES[visibility]), f"{principal} on a {visibility} record ({path})"
