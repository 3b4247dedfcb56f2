"""The upload form asks what the file holds (no kind is chosen for the person) and lists, for
every kind, each column and what it takes: the allowed values are those the importer checks."""

import re
from html import unescape

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from cities.models import NetworkMembership, Organization, Topic
from engagements.models import Agreement, Engagement, Visibility
from imports.columns import FORMATS, column_help
from imports.kinds import KINDS
from imports.models import ImportJob

pytestmark = pytest.mark.django_db

GOOD = 'external_id,city,title,kind,status,start_date\nP-1,"Los Angeles, US-CA",Visit,other,planned,2024-01-01\n'


def _section(page: str, kind: str) -> str:
    match = re.search(rf'data-testid="columns-{kind}">(.*?)</details>', page, re.S)
    assert match, f"no column help for {kind}"
    return match[1]


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _columns(page: str, kind: str) -> dict[str, tuple[bool, str, list[str]]]:
    """One kind's help: column -> (marked required, what it takes in words, the values listed)."""
    found = {}
    for match in re.finditer(r"<dt><code>(\w+)</code>(.*?)</dt>\s*<dd>(.*?)</dd>", _section(page, kind), re.S):
        found[match[1]] = ("(required)" in match[2], _text(match[3]), re.findall(r"<code>([^<]*)</code>", match[3]))
    return found


def test_the_form_chooses_no_kind_and_says_so_when_none_is_given(world, client):
    client.force_login(world["staff_a"])
    page = client.get(reverse("imports:upload")).content.decode()
    select = re.search(r'<select name="kind"[^>]*>(.*?)</select>', page, re.S)[1]
    options = re.findall(r'<option value="([^"]*)"( selected)?', select)
    assert options[0] == ("", " selected")  # the empty choice, and nothing else, is selected
    assert [value for value, _ in options[1:]] == [value for value, _ in ImportJob.Kind.choices]

    answer = client.post(reverse("imports:upload"), {"file": ContentFile(GOOD.encode(), name="a.csv")})

    assert answer.status_code == 200
    assert "Choose what the file holds: cities, organizations, network memberships, agreements, engagements." in (
        unescape(answer.content.decode())
    )
    assert not ImportJob.objects.exists()


def test_a_chosen_kind_still_imports(world, client):
    client.force_login(world["staff_a"])
    answer = client.post(
        reverse("imports:upload"), {"file": ContentFile(GOOD.encode(), name="a.csv"), "kind": "engagements"}
    )
    assert answer.status_code == 302 and ImportJob.objects.get().kind == "engagements"


@pytest.mark.parametrize(
    ("kind", "column", "choices"),
    [
        ("engagements", "kind", Engagement.Kind),
        ("engagements", "status", Engagement.Status),
        ("engagements", "visibility", Visibility),
        ("agreements", "kind", Agreement.Kind),
        ("agreements", "status", Agreement.Status),
        ("agreements", "visibility", Visibility),
        ("organizations", "kind", Organization.Kind),
        ("memberships", "role", NetworkMembership.Role),
    ],
)
def test_each_choice_column_lists_every_allowed_value(world, client, kind, column, choices):
    client.force_login(world["staff_a"])
    _required, takes, values = _columns(client.get(reverse("imports:upload")).content.decode(), kind)[column]
    assert takes.startswith("one of:")
    assert values == [value for value, _ in choices.choices]


def test_every_column_of_every_kind_is_explained_with_required_ones_marked(world, client):
    client.force_login(world["staff_a"])
    page = client.get(reverse("imports:upload")).content.decode()
    for kind in KINDS.values():
        columns = _columns(page, kind.name)
        assert list(columns) == kind.columns
        for column, (required, takes, _values) in columns.items():
            assert required == (column in kind.required) and takes, (kind.name, column)
    engagements = _columns(page, "engagements")
    assert engagements["topics"][2] == sorted(Topic.objects.values_list("slug", flat=True))
    assert engagements["start_date"][1] == "a date, YYYY-MM-DD"
    assert "ISO 3166-1 alpha-2" in engagements["counterpart_countries"][1]


def test_a_column_the_help_does_not_describe_fails_here_first():
    """A new column of a kind needs its line in imports/columns.py (or a `choices` entry)."""
    for kind in KINDS.values():
        for column in kind.columns:
            assert column in kind.choices or column == "topics" or column in FORMATS, (kind.name, column)
        assert [help.name for help in column_help(kind, ["climate"])] == kind.columns


def test_the_help_is_for_those_who_may_import(world, client):
    client.force_login(world["liaison"])
    page = client.get(reverse("imports:upload")).content.decode()
    assert 'data-testid="columns-' not in page and "Only city staff and administrators import files." in page
