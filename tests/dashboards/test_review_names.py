"""The review queue read by a screen reader: every decision button and comment box of a row is
named after that row's engagement, so fifty rows are not fifty identical "Acknowledge" buttons."""

import datetime as dt
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from .conftest import World, make_engagement


class _RowControls(HTMLParser):
    """Per review row: the engagement's title and the accessible names of its buttons and of the
    comment box's label (their whole text, visually hidden parts included, as a screen reader
    reads them), and the text a sighted user sees on each button."""

    def __init__(self):
        super().__init__()
        self.rows: list[dict] = []
        self.capture: tuple[str, list[str]] | None = None
        self.hidden_depth = 0
        self.visible: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and attrs.get("data-testid") == "review-row":
            self.rows.append({"title": "", "buttons": [], "visible": [], "labels": [], "textareas": []})
        elif not self.rows:
            return
        elif tag == "a" and attrs.get("data-testid") == "review-title":
            self.capture = ("title", [])
        elif tag in ("button", "label"):
            self.capture, self.visible = (tag, []), []
        elif tag == "textarea":
            self.rows[-1]["textareas"].append(attrs.get("id"))
        elif tag == "span" and self.capture and "visually-hidden" in (attrs.get("class") or ""):
            self.hidden_depth += 1

    def handle_data(self, data):
        if self.capture:
            self.capture[1].append(data)
            if not self.hidden_depth:
                self.visible.append(data)

    def handle_endtag(self, tag):
        if tag == "span" and self.hidden_depth:
            self.hidden_depth -= 1
        elif self.capture and tag == {"title": "a"}.get(self.capture[0], self.capture[0]):
            kind, parts = self.capture
            text = " ".join("".join(parts).split())
            row = self.rows[-1]
            if kind == "title":
                row["title"] = text
            elif kind == "button":
                row["buttons"].append(text)
                row["visible"].append(" ".join("".join(self.visible).split()))
            else:
                row["labels"].append(text)
            self.capture = None


@pytest.fixture
def crowded_queue(cast, city_a, foreign_city):
    """Three engagements to review, one with a title that needs escaping."""
    world, admin = World(today=timezone.localdate()), cast["admin"]
    titles = ["Trade mission to Nagoya", "Sister-city renewal", 'Mayor\'s "Expo" <visit> & talks']
    for number, title in enumerate(titles, start=1):
        make_engagement(
            world, admin, city_a, visibility="internal", start=dt.date(2026, number, 1),
            counterparts=[foreign_city], topics=["climate"], title=title,
        )  # fmt: skip
    return titles


def test_every_decision_button_and_comment_box_is_named_after_its_row(client, crowded_queue, liaison):
    client.force_login(liaison)
    html = client.get("/review/").content.decode()
    assert "<visit>" not in html  # escaped, as everywhere

    reader = _RowControls()
    reader.feed(html)
    rows = reader.rows
    assert sorted(row["title"] for row in rows) == sorted(crowded_queue)
    names = []
    for row in rows:
        title = row["title"]
        assert row["visible"] == ["Acknowledge", "Needs follow-up", "Flag"]
        # The name a screen reader announces begins with the visible text (WCAG 2.5.3) and names the row.
        assert row["buttons"] == [f"{visible} “{title}”" for visible in row["visible"]]
        assert row["labels"] == [f"Comment on “{title}”"] and len(row["textareas"]) == 1
        names += row["buttons"] + row["labels"]
    assert len(names) == len(set(names)) == 4 * len(crowded_queue)


def test_a_row_swapped_in_after_a_review_keeps_its_names(client, crowded_queue, liaison):
    client.force_login(liaison)
    html = client.get("/review/").content.decode()
    engagement_id = html.split('data-testid="review-row" data-engagement="', 1)[1].split('"', 1)[0]
    response = client.post(
        f"/review/{engagement_id}/",
        {"decision": "acknowledged", "comment": "", "next": "/review/"},
        HTTP_HX_REQUEST="true",
    )
    swapped = _RowControls()
    swapped.feed(response.content.decode())
    (row,) = swapped.rows
    assert row["title"] in crowded_queue
    assert row["buttons"][0] == f"Acknowledge “{row['title']}”"
    assert row["labels"] == [f"Comment on “{row['title']}”"]
