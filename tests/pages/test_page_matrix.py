"""The HTML pages' permission matrix, generated from the URL resolver: every URL pattern of the
site (the API aside: tests/api/test_permission_matrix.py covers it) × principal × record.

`CASES` says, for each pattern, which URLs to open (one per record or variant) and what each
principal should get; a pattern with no entry fails `test_every_url_pattern_is_covered`, so a new
page cannot ship without its row. The Django admin is one family (`admin_cases`), built from the
admin's own patterns: non-admins are sent to the admin login, the admin opens everything.

Expectations are written from SPEC §2 (world.py), never read from accounts.policy:
- a record a signed-in principal may not see is a 404, a visible one they may not change a 403;
- anonymous visitors are sent to the sign-in page from every page that is not public; the
  public pages are `/`, city and network profiles, the sign-in and password-reset pages, and
  the page of a public agreement or engagement (any other id: the sign-in page);
- every response (page, CSV, fragment) is searched for every marker its reader may not see:
  the text of records hidden from them (titles, summaries, venue, external ids, linked
  agreements, history), their URLs, other people's notifications and imports and, for
  partners and anonymous visitors, the names of people (participants, assignees, reviewers,
  authors) and follow-ups and review comments, even on public records.
Only GETs: this matrix is about reading.
"""

import dataclasses
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from .world import (
    HOME,
    INTERNAL_READERS,
    LINKED_AGREEMENT,
    MISSING_ID,
    PRINCIPALS,
    RECORD_LABELS,
    build_world,
    owns,
    sees,
    sees_label,
    sees_people,
)

LOGIN = "login"  # a redirect to /accounts/login/?next=<the page>
ADMIN_LOGIN = "admin-login"  # a redirect to /admin/login/?next=<the page>


@dataclasses.dataclass(frozen=True)
class Redirect:
    to: str | Callable  # the Location, or world -> Location


# --- the world ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once per module inside a transaction every test nests in (and rolls back to)."""
    # Documents' files go to a folder of this module's own.
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("page-matrix-media"))
    with django_db_blocker.unblock(), transaction.atomic(), media:
        world = build_world()
        # One signed-in session per principal, made once: the tests only read.
        world.sessions = {}
        for principal, user in world.cast.items():
            if user is not None:
                client = Client()
                client.force_login(user)
                world.sessions[principal] = client.cookies
        yield world
        transaction.set_rollback(True)


def split(label):
    city, visibility = label.split("-")
    return city, visibility


# --- expectations, from SPEC §2 and §5 --------------------------------------------------------------


def everyone(principal, variant):
    return 200


def signed_in(principal, variant):
    return LOGIN if principal == "anonymous" else 200


def post_only(principal, variant):
    """A POST-only action opened with GET: sign in first, then 405."""
    return LOGIN if principal == "anonymous" else 405


def loggers(principal, variant):
    """Pages that log records: staff with a home city and admins."""
    if principal == "anonymous":
        return LOGIN
    return 200 if principal in ("staff_a", "staff_b", "admin") else 403


def internal_readers(principal, variant):
    if principal == "anonymous":
        return LOGIN
    return 200 if principal in INTERNAL_READERS else 403


def reviewers(principal, variant):
    if principal == "anonymous":
        return LOGIN
    return 200 if principal in ("liaison", "admin") else 403


def record_page(principal, label):
    """`/agreements/<id>/`, `/engagements/<id>/`: public ones open to anyone (SPEC §2)."""
    if label == "missing":
        return LOGIN if principal == "anonymous" else 404
    visible = sees_label(principal, label)
    if principal == "anonymous":
        return 200 if visible else LOGIN
    return 200 if visible else 404


def record_edit(principal, label):
    if principal == "anonymous":
        return LOGIN
    if label == "missing" or not sees_label(principal, label):
        return 404
    return 200 if owns(principal, split(label)[0]) else 403


def follow_up_edit(principal, label):
    """Follow-ups are internal: a partner sees none of them."""
    if principal == "anonymous":
        return LOGIN
    if label == "missing" or principal not in INTERNAL_READERS or not sees_label(principal, label):
        return 404
    return 200 if owns(principal, split(label)[0]) else 403


def city_owned_edit(principal, letter):
    if principal == "anonymous":
        return LOGIN
    if letter == "missing":
        return 404
    return 200 if owns(principal, letter) else 403


def city_owned_detail(principal, letter):
    if principal == "anonymous":
        return LOGIN
    return 404 if letter == "missing" else 200


def own_import(principal, owner):
    if principal == "anonymous":
        return LOGIN
    return 200 if principal in (owner, "admin") else 404


def sign_in_page(principal, variant):
    return 200 if principal == "anonymous" else Redirect("/")


def my_office(principal, variant):
    if principal == "anonymous":
        return LOGIN
    if principal in HOME:
        return Redirect(lambda world, p=principal: f"/cities/{world.cities[HOME[p]].slug}/office/")
    return 200


def found_unless_missing(principal, variant):
    return 404 if variant == "missing" else 200


# --- what a page must show (so the matrix is not vacuous) and must not ------------------------------


def titles(world, kind, labels):
    records = world.engagements if kind == "engagement" else world.agreements
    return [records[label].title for label in labels]


def visible_labels(principal, city=None):
    return [label for label in RECORD_LABELS if sees_label(principal, label) and (city is None or label[0] == city)]


def linked_engagements(agreement_label):
    """Engagements finally linked to the agreement `agreement_label`."""
    city, visibility = split(agreement_label)
    return [f"{city}-{v}" for v, target in LINKED_AGREEMENT.items() if target == visibility]


def detail_shows(kind):
    def show(world, principal, label):
        if label == "missing":
            return []
        return titles(world, kind, [label])

    return show


def filtered_labels(principal, variant):
    """The records a list filtered by `variant` holds for `principal` (only `visibility`, `city`,
    `agreement` and `q=zq`, which every marker matches, are used)."""
    params = dict(parse_qs(variant))
    labels = visible_labels(principal)
    if "visibility" in params:
        labels = [label for label in labels if split(label)[1] == params["visibility"][0]]
    if "city" in params:
        labels = [label for label in labels if split(label)[0] == params["city"][0]]
    if "agreement" in params:
        agreement = params["agreement"][0]
        if agreement == "missing" or not sees_label(principal, agreement):
            return []
        labels = [label for label in labels if label in linked_engagements(agreement)]
    return labels


def list_shows(kind):
    def show(world, principal, variant):
        if principal == "anonymous":
            return []
        return titles(world, kind, filtered_labels(principal, variant))

    return show


def filter_hides(world, principal, variant):
    """`?agreement=<id of an agreement the principal may not see>` matches nothing (as a missing id
    would): not even the engagements under it that the principal may see."""
    params = dict(parse_qs(variant))
    label = params.get("agreement", [None])[0]
    if label in (None, "missing") or sees_label(principal, label):
        return []
    return titles(world, "engagement", linked_engagements(label))


def city_shows(world, principal, letter):
    if letter not in ("A", "B"):
        return []
    labels = visible_labels(principal, letter)
    return titles(world, "engagement", labels) + titles(world, "agreement", labels)


def review_queue_shows(world, principal, variant):
    if principal not in ("liaison", "admin") or "review_status=any" not in variant:
        return []
    return titles(world, "engagement", filtered_labels(principal, variant))


def portal_shows(world, principal, variant):
    if principal in ("anonymous", "partner") and variant == "plain":
        return titles(world, "engagement", visible_labels(principal)) + titles(
            world, "agreement", visible_labels(principal)
        )
    return []


def inbox_shows(world, principal, variant):
    return [] if principal == "anonymous" else [world.notifications[principal].title]


def imports_show(world, principal, variant):
    if principal == "admin":
        return [job.original_name for job in world.import_jobs.values()]
    if principal in world.import_jobs:
        return [world.import_jobs[principal].original_name]
    return []


def export_shows(world, principal, kind):
    if principal in HOME:
        return titles(world, kind[:-1], [label for label in RECORD_LABELS if label[0] == HOME[principal]])
    if principal == "admin":
        return titles(world, kind[:-1], RECORD_LABELS)
    return []


def favicon_is_an_image(world, principal, variant, response, body):
    assert response["Content-Type"] == "image/svg+xml" and body.lstrip().startswith("<svg"), response["Content-Type"]


# --- calendar feeds (SPEC §8.4): the URL's secret names its owner, whoever sends it --------------------

FEED_OWNERS = ("staff_a", "staff_b", "liaison", "admin")
# variant -> (the feed, its query): a feed of each internal reader, filtered ones, a revoked one, a
# partner's from before (partners may not subscribe), an unknown token, a bad filter.
FEED_VARIANTS = {
    "staff_a": ("staff_a", ""),
    "staff_b": ("staff_b", ""),
    "liaison": ("liaison", ""),
    "admin": ("admin", ""),
    "staff_b?city=A": ("staff_b", "city=A"),
    "liaison?state=US-CA": ("liaison", "state=US-CA"),
    "staff_a?kinds=engagements": ("staff_a", "kinds=engagements"),
    "staff_a-revoked": ("staff_a-revoked", ""),
    "partner": ("partner", ""),
    "unknown": ("unknown", ""),
    "staff_a?state=nonsense": ("staff_a", "state=nonsense"),
}


def feed_path(world, variant):
    feed, filters = FEED_VARIANTS[variant]
    token = world.feed_tokens.get(feed, "no-such-feed-token-0123456789abcdefghijklmn")
    if filters.startswith("city="):
        filters = f"city={world.cities[filters[5:]].slug}"
    return f"/calendar/{token}.ics" + (f"?{filters}" if filters else "")


def feed_expect(principal, variant):
    """The session does not matter: a live feed of an internal reader answers anyone holding it."""
    feed, filters = FEED_VARIANTS[variant]
    if feed not in FEED_OWNERS:
        return 404
    return 400 if "nonsense" in filters else 200


def feed_reader(principal, variant):
    feed, _ = FEED_VARIANTS[variant]
    return feed if feed in FEED_OWNERS else principal


def feed_labels(variant):
    """The records a live feed holds (every record of the world has an event in the window)."""
    feed, filters = FEED_VARIANTS[variant]
    labels = visible_labels(feed)
    if filters == "city=A" or filters == "state=US-CA":
        labels = [label for label in labels if label[0] == "A"]
    return labels


def feed_name(world, feed):
    return world.texts(f"calendar feed name of {feed}")[f"calendar feed name of {feed}"]


def feed_shows(world, principal, variant):
    feed, filters = FEED_VARIANTS[variant]
    if feed_expect(principal, variant) != 200:
        return []
    labels = feed_labels(variant)
    shown = titles(world, "engagement", labels)
    if "kinds=" not in filters:
        shown += titles(world, "agreement", labels)
    return [*shown, feed_name(world, feed)]  # the calendar's name


def feed_hides(world, principal, variant):
    feed, filters = FEED_VARIANTS[variant]
    if feed_expect(principal, variant) != 200:
        return []
    hidden = [label for label in visible_labels(feed) if label not in feed_labels(variant)]
    shown = feed_labels(variant)
    texts = titles(world, "engagement", hidden) + titles(world, "agreement", hidden)
    if "kinds=" in filters:
        texts += titles(world, "agreement", shown)
    return texts


def feed_is_a_calendar(world, principal, variant, response, body):
    if response.status_code == 200:
        assert response["Content-Type"] == "text/calendar; charset=utf-8"
        assert body.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in body
    else:
        assert "VCALENDAR" not in body


def feeds_page_shows(world, principal, variant):
    if principal not in INTERNAL_READERS:
        return []
    return [feed_name(world, principal)]


def feeds_page_hides(world, principal, variant):
    """A revoked feed is not listed, even to its owner."""
    return [feed_name(world, "staff_a-revoked")]


# --- the registry -------------------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    variants: tuple[str, ...]
    url: Callable  # (world, variant) -> path with query
    expect: Callable  # (principal, variant) -> 200 | 403 | 404 | 405 | LOGIN | Redirect
    shows: Callable | None = None  # (world, principal, variant) -> texts a 200 must contain
    hides: Callable | None = None  # (world, principal, variant) -> texts it must not contain (beyond markers)
    check: Callable | None = None  # (world, principal, variant, response, body) -> extra assertions
    # (principal, variant) -> whose eyes the body is read with: a secret URL (a calendar feed) reads
    # as its owner whoever sends it; by default, the principal's own.
    reads_as: Callable | None = None


RECORDS = (*RECORD_LABELS, "missing")
AGREEMENT_FILTERS = ("A-public", "A-internal", "A-restricted", "B-restricted", "missing")


def query(variant: str, world) -> str:
    """A variant such as `format=csv&agreement=A-restricted`, with record labels as ids."""
    if variant == "plain":
        return ""
    parts = []
    for key, value in parse_qs(variant).items():
        for item in value:
            if key == "agreement":
                item = str(world.agreement_id(item))
            elif key == "city" and item in world.cities:
                item = str(world.cities[item].pk)
            parts.append(f"{key}={item}")
    return "?" + "&".join(parts)


def with_query(path):
    return lambda world, variant: path + query(variant, world)


def list_variants():
    variants = ["plain", "format=csv", "q=zq", "visibility=restricted", "city=A", "city=B"]
    for label in AGREEMENT_FILTERS:
        variants += [f"agreement={label}", f"format=csv&agreement={label}"]
    return tuple(variants)


CHARTS = ("month", "topic", "kind", "country", "region", "state", "city")


def chart_and_filter(variant):
    chart, _, filters = variant.partition("?")
    return chart, filters or "plain"


def dashboard_counts(world, principal, variant, response, body):
    """Each engagement of the world has one month, topic, kind, state and city, and two counterpart
    countries (Japan, Germany) in two regions, so every chart's counts add up to (twice) the
    engagements the principal may see under the filter."""
    chart, filters = chart_and_filter(variant)
    if response.status_code != 200 or chart not in CHARTS:
        return
    wanted = filtered_labels(principal, filters)
    counts = [int(line.rsplit(",", 1)[1]) for line in body.strip().splitlines()[1:] if line.strip()]
    per_engagement = 2 if chart in ("country", "region") else 1
    assert sum(counts) == per_engagement * len(wanted), f"{chart} counts {counts} for {len(wanted)} visible engagements"


SEARCH_VARIANTS = ("plain", "q=zq", "q=zq&kind=engagement", "q=zq&kind=agreement", "q=Nagoya", "q=Goethe")


def search_expected(principal, variant):
    """{kind: the labels of the records that kind holds} for a search `variant`: every record has
    a marker (zq) in its title, Nagoya as counterpart city and the Goethe-Institut as counterpart
    organisation, so each query finds every record the reader may see."""
    params = dict(parse_qs(variant))
    kind = params.get("kind", [None])[0]
    return {
        name: visible_labels(principal) if "q" in params and kind in (None, name) else []
        for name in ("agreement", "engagement")
    }


def search_shows(world, principal, variant):
    expected = search_expected(principal, variant)
    return titles(world, "agreement", expected["agreement"]) + titles(world, "engagement", expected["engagement"])


def search_counts(world, principal, variant, response, body):
    """The count of each kind is the number of its records the reader may see (never more)."""
    if "q=" not in variant:
        assert 'data-testid="search-counts"' not in body
        return
    if "kind=" in variant:
        return
    for name, labels in search_expected(principal, variant).items():
        assert f'<span class="count" data-kind="{name}">{len(labels)}</span>' in body, (name, len(labels))
    contacts = 'data-kind="contact"' in body
    assert contacts == (principal in INTERNAL_READERS), "contacts are searched by internal readers only"


def dashboard_csv_shows(world, principal, variant):
    chart, filters = chart_and_filter(variant)
    if chart != "expiring" or principal not in INTERNAL_READERS:
        return []
    return titles(world, "agreement", filtered_labels(principal, filters))


# --- contacts and documents (SPEC §8.4) -------------------------------------------------------------


def contact_page(principal, letter):
    """A contact does not exist for those who may not read people's data."""
    if principal == "anonymous":
        return LOGIN
    return 200 if letter != "missing" and sees_people(principal) else 404


def contact_edit(principal, letter):
    if principal == "anonymous":
        return LOGIN
    if letter == "missing" or not sees_people(principal):
        return 404
    return 200 if owns(principal, letter) else 403


def contact_name(world, letter):
    return world.texts(f"contact of {letter} name")[f"contact of {letter} name"]


def contact_list_shows(world, principal, variant):
    if not sees_people(principal):
        return []
    return [contact_name(world, letter) for letter in ("A", "B")]


def contact_shows(world, principal, letter):
    """The contact, and the engagements with them (each of their city's has them as participant)
    that the reader may see."""
    if letter == "missing" or not sees_people(principal):
        return []
    return [contact_name(world, letter), *titles(world, "engagement", visible_labels(principal, letter))]


DOCUMENT_VARIANTS = (
    *(
        f"{label}-{kind}-{access}"
        for label in RECORD_LABELS
        for kind in ("agreement", "engagement")
        for access in ("public", "private")
    ),
    "missing",
)


def document_download(principal, variant):
    """Readers of the record read its documents; partners and the public only public documents
    of public records; anyone else gets a 404 (the sign-in page when anonymous)."""
    if variant == "missing":
        return LOGIN if principal == "anonymous" else 404
    city, visibility, _kind, access = variant.split("-")
    readable = sees(principal, city, visibility) and (access == "public" or sees_people(principal))
    if readable:
        return 200
    return LOGIN if principal == "anonymous" else 404


def document_is_an_attachment(world, principal, variant, response, body):
    if response.status_code != 200:
        return
    assert response["Content-Disposition"].startswith("attachment;"), response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert body == f"Minutes of {variant}"


CASES: dict[str, Case] = {
    # --- the front door and accounts
    "healthz": Case(("plain",), lambda w, v: "/healthz", everyone),
    "favicon": Case(("plain",), lambda w, v: "/favicon.ico", everyone, check=favicon_is_an_image),
    "home": Case(
        ("plain", "q=zq", "agreement=A-restricted", "agreement=missing"),
        with_query("/"),
        everyone,
        shows=portal_shows,
        hides=filter_hides,
    ),
    "login": Case(("plain",), lambda w, v: "/accounts/login/", sign_in_page),
    "logout": Case(("plain",), lambda w, v: "/accounts/logout/", lambda p, v: 405),
    "password_change": Case(("plain",), lambda w, v: "/accounts/password/change/", signed_in),
    "password_change_done": Case(("plain",), lambda w, v: "/accounts/password/change/done/", signed_in),
    "password_reset": Case(("plain",), lambda w, v: "/accounts/password/reset/", everyone),
    "password_reset_done": Case(("plain",), lambda w, v: "/accounts/password/reset/done/", everyone),
    "password_reset_confirm": Case(("bad-link",), lambda w, v: "/accounts/password/reset/MQ/bad-token/", everyone),
    "password_reset_complete": Case(("plain",), lambda w, v: "/accounts/password/reset/complete/", everyone),
    # --- notifications
    "notifications:inbox": Case(("plain",), lambda w, v: "/notifications/", signed_in, shows=inbox_shows),
    "notifications:read": Case(
        ("own",), lambda w, v: f"/notifications/{w.notifications['staff_a'].pk}/read/", post_only
    ),
    "notifications:read-all": Case(("plain",), lambda w, v: "/notifications/read-all/", post_only),
    "notifications:preferences": Case(("plain",), lambda w, v: "/notifications/preferences/", signed_in),
    # --- imports
    "imports:upload": Case(("plain",), lambda w, v: "/imports/", signed_in, shows=imports_show),
    "imports:job": Case(
        ("staff_a", "staff_b", "missing"),
        lambda w, v: f"/imports/{w.import_jobs[v].pk if v != 'missing' else MISSING_ID}/",
        lambda p, v: 404 if v == "missing" and p != "anonymous" else own_import(p, v),
        shows=lambda w, p, v: [w.import_jobs[v].original_name] if v != "missing" else [],
    ),
    "imports:errors-csv": Case(
        ("staff_a", "staff_b", "missing"),
        lambda w, v: f"/imports/{w.import_jobs[v].pk if v != 'missing' else MISSING_ID}/errors.csv",
        lambda p, v: 404 if v == "missing" and p != "anonymous" else own_import(p, v),
    ),
    "imports:export-csv": Case(
        ("agreements", "engagements", "nonsense"),
        lambda w, v: f"/imports/export/{v}.csv",
        lambda p, v: LOGIN if p == "anonymous" else (404 if v == "nonsense" else 200),
        shows=lambda w, p, v: export_shows(w, p, v) if v != "nonsense" else [],
    ),
    # --- engagements and follow-ups
    "engagement-list": Case(
        list_variants(),
        with_query("/engagements/"),
        signed_in,
        shows=list_shows("engagement"),
        hides=filter_hides,
    ),
    "engagement-create": Case(("plain",), lambda w, v: "/engagements/new/", loggers),
    "engagement-detail": Case(
        RECORDS, lambda w, v: f"/engagements/{w.engagement_id(v)}/", record_page, shows=detail_shows("engagement")
    ),
    "engagement-edit": Case(
        RECORDS, lambda w, v: f"/engagements/{w.engagement_id(v)}/edit/", record_edit, shows=detail_shows("engagement")
    ),
    "follow-up-create": Case(RECORDS, lambda w, v: f"/engagements/{w.engagement_id(v)}/follow-ups/new/", record_edit),
    "follow-up-edit": Case(
        RECORDS,
        lambda w, v: f"/follow-ups/{w.follow_ups[v].pk if v != 'missing' else MISSING_ID}/edit/",
        follow_up_edit,
    ),
    "follow-up-done": Case(("A-public",), lambda w, v: f"/follow-ups/{w.follow_ups[v].pk}/done/", post_only),
    # --- agreements
    "agreement-list": Case(
        ("plain", "format=csv", "q=zq", "visibility=restricted", "city=A", "city=B"),
        with_query("/agreements/"),
        signed_in,
        shows=list_shows("agreement"),
    ),
    "agreement-create": Case(("plain",), lambda w, v: "/agreements/new/", loggers),
    "agreement-detail": Case(
        RECORDS, lambda w, v: f"/agreements/{w.agreement_id(v)}/", record_page, shows=detail_shows("agreement")
    ),
    "agreement-edit": Case(
        RECORDS, lambda w, v: f"/agreements/{w.agreement_id(v)}/edit/", record_edit, shows=detail_shows("agreement")
    ),
    # --- cities, offices, organisations, memberships, networks
    "city-search": Case(("q=Nag", "q=Los"), with_query("/cities/search/"), signed_in),
    "organization-search": Case(("q=Goe",), with_query("/organizations/search/"), signed_in),
    "organization-create": Case(("plain",), lambda w, v: "/organizations/new/", loggers),
    "office-edit": Case(
        ("A", "B", "missing"),
        lambda w, v: f"/cities/{w.cities[v].slug if v != 'missing' else 'no-such-city'}/office/",
        city_owned_edit,
    ),
    "my-office": Case(("plain",), lambda w, v: "/office/", my_office),
    "membership-list": Case(("plain", "format=csv"), with_query("/memberships/"), signed_in),
    "membership-create": Case(("plain",), lambda w, v: "/memberships/new/", loggers),
    "membership-detail": Case(
        ("A", "B", "missing"),
        lambda w, v: f"/memberships/{w.memberships[v].pk if v != 'missing' else MISSING_ID}/",
        city_owned_detail,
    ),
    "membership-edit": Case(
        ("A", "B", "missing"),
        lambda w, v: f"/memberships/{w.memberships[v].pk if v != 'missing' else MISSING_ID}/edit/",
        city_owned_edit,
    ),
    "city-profile": Case(
        ("A", "B", "foreign", "missing"),
        lambda w, v: (
            f"/cities/{ {'A': w.cities['A'], 'B': w.cities['B'], 'foreign': w.foreign}[v].slug if v != 'missing' else 'no-such-city' }/"
        ),
        found_unless_missing,
        shows=city_shows,
    ),
    "network-detail": Case(
        ("c40", "missing"),
        lambda w, v: f"/networks/{w.network.slug if v != 'missing' else 'no-such-network'}/",
        found_unless_missing,
    ),
    # --- dashboards and the review queue
    "dashboard": Case(
        ("plain", "visibility=restricted", "state=US-CA", "agreement=A-restricted", "agreement=missing"),
        with_query("/dashboard/"),
        internal_readers,
        hides=filter_hides,
    ),
    "dashboard-csv": Case(
        (
            *CHARTS,
            *(f"{chart}?agreement=A-restricted" for chart in CHARTS),
            "kind?agreement=A-public",
            "kind?agreement=missing",
            "kind?visibility=restricted",
            "expiring",
            "expiring?city=A",
            "nonsense",
        ),
        lambda w, v: f"/dashboard/{chart_and_filter(v)[0]}.csv" + query(chart_and_filter(v)[1], w),
        lambda p, v: 404 if v == "nonsense" and p in INTERNAL_READERS else internal_readers(p, v),
        shows=dashboard_csv_shows,
        check=dashboard_counts,
    ),
    "review": Case(
        ("plain", "review_status=any", "review_status=any&agreement=A-restricted"),
        with_query("/review/"),
        reviewers,
        shows=review_queue_shows,
    ),
    # --- state-law compliance (SPEC §8.2): liaisons and admins
    "compliance:overview": Case(
        ("plain", "format=csv", "status=open", "rule=RULE-A"),
        with_query("/compliance/"),
        reviewers,
        shows=lambda w, p, v: (
            titles(w, "agreement", [label for label in RECORD_LABELS if v != "rule=RULE-A" or label[0] == "A"])
            if p in ("liaison", "admin")
            else []
        ),
    ),
    "compliance:decide": Case(("A-public",), lambda w, v: f"/compliance/flags/{w.flags[v].pk}/decide/", post_only),
    "review-engagement": Case(("A-restricted",), lambda w, v: f"/review/{w.engagement_id(v)}/", post_only),
    # --- global search (SPEC §8.1): open to everyone, each finds only what they may see
    "search": Case(
        SEARCH_VARIANTS,
        with_query("/search/"),
        everyone,
        shows=search_shows,
        check=search_counts,
    ),
    # --- calendar feeds (SPEC §8.4): internal readers issue them; a feed answers its token alone
    "calendars:index": Case(
        ("plain",), lambda w, v: "/calendar/", internal_readers, shows=feeds_page_shows, hides=feeds_page_hides
    ),
    "calendars:revoke": Case(("staff_a",), lambda w, v: f"/calendar/{w.feed_ids[v]}/revoke/", post_only),
    "calendars:feed": Case(
        tuple(FEED_VARIANTS),
        feed_path,
        feed_expect,
        shows=feed_shows,
        hides=feed_hides,
        check=feed_is_a_calendar,
        reads_as=feed_reader,
    ),
    # --- contacts (SPEC §8.4): internal readers only; the home city's staff keep them
    "contact-list": Case(
        ("plain", "q=zq", "format=csv", "country=JP"),
        with_query("/contacts/"),
        internal_readers,
        shows=contact_list_shows,
    ),
    "contact-create": Case(("plain",), lambda w, v: "/contacts/new/", loggers),
    "contact-search": Case(("q=zq", "q=contact"), with_query("/contacts/search/"), internal_readers),
    "contact-detail": Case(
        ("A", "B", "missing"),
        lambda w, v: f"/contacts/{w.contacts[v].pk if v != 'missing' else MISSING_ID}/",
        contact_page,
        shows=contact_shows,
    ),
    "contact-edit": Case(
        ("A", "B", "missing"),
        lambda w, v: f"/contacts/{w.contacts[v].pk if v != 'missing' else MISSING_ID}/edit/",
        contact_edit,
    ),
    # --- documents (SPEC §8.4): read with their record, through a view that asks the policy
    "document-file": Case(
        DOCUMENT_VARIANTS,
        lambda w, v: f"/documents/{w.documents[v].pk if v != 'missing' else MISSING_ID}/file/",
        document_download,
        check=document_is_an_attachment,
    ),
    "document-delete": Case(
        ("A-public-engagement-public",), lambda w, v: f"/documents/{w.documents[v].pk}/delete/", post_only
    ),
    "agreement-document-upload": Case(
        ("A-public",), lambda w, v: f"/agreements/{w.agreement_id(v)}/documents/", post_only
    ),
    "engagement-document-upload": Case(
        ("A-public",), lambda w, v: f"/engagements/{w.engagement_id(v)}/documents/", post_only
    ),
}


# --- the URL patterns, read from the resolver ---------------------------------------------------------


def url_patterns(patterns=None, prefix="", namespace=None):
    """(route, qualified name) of every pattern the site serves."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace
            qualified = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            yield from url_patterns(pattern.url_patterns, route, qualified)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield route, name


PATTERNS = list(url_patterns())
API_PREFIX = "api/v1/"
ADMIN_PREFIX = "admin/"
PAGE_PATTERNS = [(route, name) for route, name in PATTERNS if not route.startswith((API_PREFIX, ADMIN_PREFIX))]
ADMIN_PATTERNS = [(route, name) for route, name in PATTERNS if route.startswith(ADMIN_PREFIX)]


# --- the admin family ---------------------------------------------------------------------------------


def representative(world, model):
    """The record of `model` an admin page is opened on: a hidden one where there is one."""
    label = model._meta.label
    chosen = {
        "engagements.Engagement": lambda: world.engagements["B-restricted"],
        "engagements.Agreement": lambda: world.agreements["B-restricted"],
        "engagements.FollowUp": lambda: world.follow_ups["B-restricted"],
        "engagements.Review": lambda: world.reviews["B-restricted"],
        "accounts.User": lambda: world.cast["staff_b"],
        "notifications.Notification": lambda: world.notifications["staff_b"],
        "imports.ImportJob": lambda: world.import_jobs["staff_b"],
        "cities.NetworkMembership": lambda: world.memberships["B"],
        "cities.InternationalAffairsOffice": lambda: world.offices["B"],
    }.get(label)
    return chosen() if chosen else model._default_manager.order_by("pk").first()


def admin_request(world):
    request = type("Request", (), {})()
    request.user = world.cast["admin"]
    return request


# Longest first: `..._simple_history` also ends in `_history`, `..._password_change` in `_change`.
ADMIN_VIEW_ORDER = ("simple_history", "password_change", "changelist", "history", "delete", "change", "add")
MODEL_VIEWS = set(ADMIN_VIEW_ORDER)


def admin_case(route, name):
    """The case of one admin pattern, or None when the family rule does not know it."""
    short = name.split(":", 1)[1] if name else None
    simple = {
        "index": ("/admin/", 200),
        "password_change": ("/admin/password_change/", 200),
        "password_change_done": ("/admin/password_change/done/", 200),
        "jsi18n": ("/admin/jsi18n/", 200),
    }
    if short in simple:
        path, status = simple[short]
        return Case(
            ("-",), lambda w, v, path=path: path, lambda p, v, status=status: status if p == "admin" else ADMIN_LOGIN
        )
    if short == "login":
        # Anyone may see the admin's sign-in form; a signed-in admin is sent on to the admin.
        return Case(("-",), lambda w, v: "/admin/login/", lambda p, v: Redirect("/admin/") if p == "admin" else 200)
    if short == "logout":
        return Case(("-",), lambda w, v: "/admin/logout/", lambda p, v: 405 if p == "admin" else Redirect("/admin/"))
    if short == "autocomplete":
        return Case(
            ("-",),
            lambda w, v: (
                "/admin/autocomplete/?app_label=engagements&model_name=engagement&field_name=agreement&term=zq"
            ),
            lambda p, v: 200 if p == "admin" else ADMIN_LOGIN,
        )
    if short == "view_on_site":

        def url(world, variant):
            notification = world.notifications["staff_b"]
            content_type = ContentType.objects.get_for_model(notification)
            return f"/admin/r/{content_type.pk}/{notification.pk}/"

        return Case(
            ("-",),
            url,
            lambda p, v: (
                Redirect(lambda w: f"http://testserver{w.notifications['staff_b'].get_absolute_url()}")
                if p == "admin"
                else ADMIN_LOGIN
            ),
        )
    if short == "app_list":
        apps = tuple(sorted({model._meta.app_label for model in admin.site._registry}))
        return Case(apps, lambda w, v: f"/admin/{v}/", lambda p, v: 200 if p == "admin" else ADMIN_LOGIN)
    if route == "admin/(?P<url>.*)$":
        return Case(("-",), lambda w, v: "/admin/no-such-page/", lambda p, v: 404 if p == "admin" else ADMIN_LOGIN)
    for model, model_admin in admin.site._registry.items():
        base = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        if not route.startswith(base):
            continue
        view = next((v for v in ADMIN_VIEW_ORDER if short and short.endswith(f"_{v}")), None)
        if view is None and route == f"{base}<path:object_id>/":
            view = "object"
        if view not in MODEL_VIEWS | {"object"}:
            return None
        return admin_model_case(model, model_admin, view)
    return None


def admin_model_case(model, model_admin, view):
    def url(world, variant, model=model, view=view):
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        if view == "changelist":
            return base
        if view == "add":
            return base + "add/"
        obj = representative(world, model)
        key = obj.pk if obj is not None else MISSING_ID
        if view == "object":
            return f"{base}{key}/"
        if view == "password_change":
            return f"{base}{key}/password/"
        if view == "simple_history":
            history = obj.history.order_by("history_id").first() if obj is not None else None
            return f"{base}{key}/history/{history.history_id if history else MISSING_ID}/"
        return f"{base}{key}/{view}/"

    def expect(principal, variant, model=model, model_admin=model_admin, view=view):
        if principal != "admin":
            return ADMIN_LOGIN
        return ("admin", model, model_admin, view)  # resolved against the world in the test

    def shows(world, principal, variant, model=model, view=view):
        if (
            principal == "admin"
            and view == "change"
            and model._meta.label in ("engagements.Engagement", "engagements.Agreement")
        ):
            return [representative(world, model).title]
        return []

    return Case(("-",), url, expect, shows=shows)


def admin_expected(world, model, model_admin, view):
    obj = representative(world, model)
    request = admin_request(world)
    if view == "object":
        key = obj.pk if obj is not None else MISSING_ID
        return Redirect(f"/admin/{model._meta.app_label}/{model._meta.model_name}/{key}/change/")
    if view in ("add",):
        return 200 if model_admin.has_add_permission(request) else 403
    if obj is None:
        # A missing object: the admin goes back to its index with a message.
        return 200 if view == "changelist" else Redirect("/admin/")
    if view == "delete":
        return 200 if model_admin.has_delete_permission(request, obj) else 403
    return 200


ADMIN_CASES = {(route, name): admin_case(route, name) for route, name in ADMIN_PATTERNS}


# --- the tests ------------------------------------------------------------------------------------


def test_every_url_pattern_is_covered():
    uncovered = [(route, name) for route, name in PAGE_PATTERNS if name not in CASES]
    assert not uncovered, f"URL patterns without page-matrix cases: {uncovered}"
    stale = sorted(set(CASES) - {name for _route, name in PAGE_PATTERNS})
    assert not stale, f"Cases for patterns that no longer exist: {stale}"
    unknown_admin = [key for key, case in ADMIN_CASES.items() if case is None]
    assert not unknown_admin, f"Admin patterns the admin family rule does not know: {unknown_admin}"
    assert any(route.startswith(API_PREFIX) for route, _name in PATTERNS), "the API patterns were not found"


def test_matrix_size():
    """This keeps the matrix from quietly shrinking."""
    assert len(MATRIX) >= 6 * 130
    assert len(ADMIN_MATRIX) >= 6 * 100


MATRIX = [
    pytest.param(name, variant, principal, id=f"{name}|{variant}|{principal}")
    for name, case in CASES.items()
    for variant in case.variants
    for principal in PRINCIPALS
]
ADMIN_MATRIX = [
    pytest.param(route, name, variant, principal, id=f"{name or route}|{variant}|{principal}")
    for (route, name), case in ADMIN_CASES.items()
    if case is not None
    for variant in case.variants
    for principal in PRINCIPALS
]


def client_for(world, principal):
    client = Client()
    if principal in world.sessions:
        client.cookies = world.sessions[principal].__class__(world.sessions[principal])
    return client


def body_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    body = content.decode("utf-8", errors="replace")
    if response.get("Content-Type", "").startswith("text/calendar"):
        # iCalendar folds long lines (RFC 5545 §3.1): unfold them, so a marker split by a fold shows.
        body = body.replace("\r\n ", "").replace("\r\n\t", "")
    return body


def check_status(world, response, expected, path):
    status, location = response.status_code, response.get("Location", "")
    if expected in (LOGIN, ADMIN_LOGIN):
        login = "/accounts/login/" if expected == LOGIN else "/admin/login/"
        assert status == 302 and location.startswith(login), (
            f"GET {path}: expected a redirect to {login}, got {status} {location}"
        )
        assert parse_qs(urlsplit(location).query).get("next") == [path], f"GET {path}: next= in {location}"
    elif isinstance(expected, Redirect):
        target = expected.to(world) if callable(expected.to) else expected.to
        assert (status, location) == (302, target), (
            f"GET {path}: expected a redirect to {target}, got {status} {location}"
        )
    else:
        assert status == expected, f"GET {path}: expected {expected}, got {status} {location}"


def check_body(world, principal, case, variant, path, response, body):
    reader = case.reads_as(principal, variant) if case.reads_as else principal
    leaks = world.forbidden_in(reader, body)
    if case.hides:
        leaks += [
            f"a record the filter must not reach ({text})"
            for text in case.hides(world, principal, variant)
            if text in body
        ]
    assert not leaks, f"GET {path} as {principal} shows what they may not see: {leaks}"
    if response.status_code == 200 and case.shows:
        missing = [text for text in case.shows(world, principal, variant) if text not in body]
        assert not missing, f"GET {path} as {principal} leaves out what they may see: {missing}"
    if case.check:
        case.check(world, principal, variant, response, body)


@pytest.mark.parametrize(("name", "variant", "principal"), MATRIX)
def test_page(db, world, name, variant, principal):
    case = CASES[name]
    path = case.url(world, variant)
    response = client_for(world, principal).get(path)
    body = body_of(response)
    check_status(world, response, case.expect(principal, variant), path)
    check_body(world, principal, case, variant, path, response, body)


@pytest.mark.parametrize(("route", "name", "variant", "principal"), ADMIN_MATRIX)
def test_admin_page(db, world, route, name, variant, principal):
    case = ADMIN_CASES[(route, name)]
    path = case.url(world, variant)
    response = client_for(world, principal).get(path)
    body = body_of(response)
    expected = case.expect(principal, variant)
    if isinstance(expected, tuple) and expected[0] == "admin":
        expected = admin_expected(world, *expected[1:])
    check_status(world, response, expected, path)
    if principal != "admin":  # the admin reads everything; everyone else is turned away unseen
        assert not world.forbidden_in(principal, body), body[:500]
    elif response.status_code == 200 and case.shows:
        missing = [text for text in case.shows(world, principal, variant) if text not in body]
        assert not missing, f"GET {path}: the admin does not see {missing}"


# --- links on pages a principal can open lead to pages they can open ---------------------------------

RECORD_LINK = re.compile(r'href="(/(?:engagements|agreements)/\d+/)"')


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("page", ["/", "city-A", "city-B"])
def test_record_links_lead_to_pages_the_reader_can_open(db, world, page, principal):
    path = f"/cities/{world.cities[page[-1]].slug}/" if page.startswith("city-") else page
    client = client_for(world, principal)
    response = client.get(path)
    assert response.status_code == 200
    broken = []
    for link in sorted(set(RECORD_LINK.findall(body_of(response)))):
        answer = client.get(link)
        if answer.status_code != 200:
            broken.append((link, answer.status_code, answer.get("Location", "")))
    assert not broken, f"{path} as {principal} links to pages they cannot open: {broken}"


def test_the_world_holds_what_the_matrix_needs(db, world):
    """Every engagement is linked to an agreement of its own city that someone who sees the
    engagement may not see, and its history shows a change."""
    for label, engagement in world.engagements.items():
        assert engagement.agreement.city_id == engagement.city_id
        agreement_label = f"{label[0]}-{LINKED_AGREEMENT[split(label)[1]]}"
        assert engagement.agreement == world.agreements[agreement_label]
        assert (
            any(sees_label(p, label) and not sees_label(p, agreement_label) for p in PRINCIPALS)
            or split(label)[1] == "restricted"
        )
        assert engagement.history.count() >= 2
        assert engagement.participants.count() == 1
    assert sees("staff_b", "A", "public") and not sees("staff_b", "A", "restricted")
    assert not sees_people("partner")
