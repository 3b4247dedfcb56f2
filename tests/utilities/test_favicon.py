"""A favicon: `/favicon.ico` answers (browsers ask for it whatever the page says) and every page
names the same icon."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders


@pytest.mark.django_db
def test_favicon_ico_answers_with_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response.content == Path(finders.find("img/favicon.svg")).read_bytes()
    assert "max-age=86400" in response["Cache-Control"]
    assert client.head("/favicon.ico").status_code == 200
    assert client.post("/favicon.ico").status_code == 405


@pytest.mark.django_db
def test_every_page_links_the_icon(client):
    page = client.get("/accounts/login/").content.decode()
    link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert link and link[1].endswith("img/favicon.svg")
