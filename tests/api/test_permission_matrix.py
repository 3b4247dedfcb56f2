"""The API's permission matrix, generated from the router: every endpoint × method × principal ×
record. A new route with no row in SPECS, or a method with no rule, fails `test_every_route_is_covered`.

Expectations are written here from SPEC §2 (not read from accounts.policy):
- anonymous: 401 everywhere; partner: public records, never writes;
- staff: public and internal records, their own city's restricted ones; write their home cities;
- liaison: everything, writes nothing but reviews; admin: everything.
A record the principal may not see answers 404, one it sees but may not change 403, and a
refused write leaves the database as it was.
"""

import dataclasses
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from cities.models import City, Country, InternationalAffairsOffice, Network, NetworkMembership, Organization, Topic
from compliance import services as compliance_services
from compliance.models import ComplianceFlag, ComplianceRule
from contacts.models import Contact
from contacts.services import save_contact
from diplomacy.api_urls import router
from documents.models import Document
from documents.services import add_document
from engagements.models import Agreement, Engagement, FollowUp, Review
from engagements.write_path import write_path
from imports.models import ImportJob
from notifications.models import Notification
from tests import factories

PRINCIPALS = ["anonymous", "partner", "staff_a", "staff_b", "liaison", "admin"]
HOME = {"staff_a": "A", "staff_b": "B"}
INTERNAL_READERS = {"staff_a", "staff_b", "liaison", "admin"}
VISIBILITIES = ["public", "internal", "restricted"]


def sees(principal, city, visibility) -> bool:
    """SPEC §2 visibility of an agreement or engagement of city `city` ("A"/"B")."""
    if principal == "anonymous":
        return False
    if principal in ("liaison", "admin"):
        return True
    if principal == "partner":
        return visibility == "public"
    return visibility != "restricted" or HOME[principal] == city


def owns(principal, city) -> bool:
    return principal == "admin" or HOME.get(principal) == city


def signed_in(principal, label) -> bool:
    return principal != "anonymous"


def admin_only(principal, label) -> bool:
    return principal == "admin"


# --- the world every matrix test runs against -------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once per module inside a transaction every test nests in (and rolls back to), then
    thrown away: the matrix runs hundreds of requests against the same records."""
    # Documents' files go to a folder of this module's own.
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("matrix-media"))
    with django_db_blocker.unblock(), transaction.atomic(), media:
        city_a = factories.CityFactory(name="Los Angeles", subdivision="US-CA", population=3_900_000)
        city_b = factories.CityFactory(name="Chicago", subdivision="US-IL", population=2_700_000)
        foreign_city = factories.CityFactory(name="Nagoya", country=factories.country("JP"), subdivision="")
        cast = {
            "anonymous": None,
            "partner": factories.UserFactory(username="pat", role="partner"),
            "staff_a": factories.UserFactory(username="alice", role="staff", home_cities=[city_a]),
            "staff_b": factories.UserFactory(username="bob", role="staff", home_cities=[city_b]),
            "liaison": factories.UserFactory(username="lena", role="liaison", portfolio_all=True),
            "admin": factories.UserFactory(username="ada", role="admin", is_superuser=True, is_staff=True),
        }
        yield build_world(cast, city_a, city_b, foreign_city)
        transaction.set_rollback(True)


def build_world(cast, city_a, city_b, foreign_city):
    cities = {"A": city_a, "B": city_b}
    climate = factories.topic("climate")
    factories.topic("trade-investment")
    c40 = factories.NetworkFactory(slug="c40", name="C40 Cities")
    factories.NetworkFactory(slug="iclei", name="ICLEI")
    engagements, agreements, follow_ups = {}, {}, {}
    for letter, city in cities.items():
        for visibility in VISIBILITIES:
            label = f"{letter}-{visibility}"
            engagement = factories.EngagementFactory(city=city, visibility=visibility, title=f"Engagement {label}")
            engagement.topics.set([climate])
            engagement.counterpart_cities.set([foreign_city])
            engagement.counterpart_countries.set(["JP"])
            engagements[label] = engagement
            agreements[label] = factories.AgreementFactory(city=city, visibility=visibility, title=f"Agreement {label}")
            follow_ups[label] = factories.FollowUpFactory(engagement=engagement)
            factories.ReviewFactory(engagement=engagement, reviewer=cast["liaison"])
    notifications = {
        name: Notification.objects.create(
            recipient=user, kind="review", object_key=f"matrix-{name}", title=f"A review for {name}"
        )
        for name, user in cast.items()
        if user is not None
    }
    import_jobs = {
        name: ImportJob.objects.create(
            kind="engagements",
            format="csv",
            file=f"imports/matrix-{name}.csv",
            original_name="engagements.csv",
            file_size=10,
            file_sha256=name.ljust(64, "0"),
            owner=cast[name],
        )
        for name in ("staff_a", "staff_b")
    }
    # One rule per home state covering Japan: every agreement and engagement carries one flag.
    for letter, city in cities.items():
        rule = ComplianceRule.objects.create(
            code=f"RULE-{letter}",
            jurisdiction=city.subdivision,
            name=f"Rule of {letter}",
            record_kinds="agreements;engagements",
        )
        rule.countries.set(["JP"])
    with write_path():
        for agreement in agreements.values():
            agreement.counterpart_countries.set(["JP"])
    compliance_services.evaluate_everything()
    flags = {}
    for label in agreements:
        flags[f"{label}-agreement"] = ComplianceFlag.objects.get(agreement=agreements[label])
        flags[f"{label}-engagement"] = ComplianceFlag.objects.get(engagement=engagements[label])
    contacts, documents = people_and_documents(cast, cities, engagements, agreements)
    return {
        "contacts": contacts,
        "documents": documents,
        "cast": cast,
        "flags": flags,
        "rules": {rule.code: rule for rule in ComplianceRule.objects.all()},
        "notifications": notifications,
        "import_jobs": import_jobs,
        "cities": cities,
        "engagements": engagements,
        "agreements": agreements,
        "follow_ups": follow_ups,
        "offices": {letter: factories.OfficeFactory(city=city) for letter, city in cities.items()},
        "memberships": {letter: factories.MembershipFactory(network=c40, city=city) for letter, city in cities.items()},
        "organizations": {
            letter: factories.OrganizationFactory(name=f"Partner of {letter}", city=foreign_city) for letter in cities
        },
    }


def people_and_documents(cast, cities, engagements, agreements):
    """A contact kept by each home city (SPEC §8.4), and on every agreement and engagement a public
    and a non-public document (labels `A-internal-engagement-public`, `...-private`)."""
    contacts = {
        letter: save_contact(
            actor=cast[f"staff_{letter.lower()}"], data={"home_city": city, "name": f"Contact of {letter}"}
        )
        for letter, city in cities.items()
    }
    documents = {}
    for kind, records in (("agreement", agreements), ("engagement", engagements)):
        for label, record in records.items():
            owner = cast[f"staff_{city_of(label).lower()}"]
            for public in (True, False):
                name = f"{label}-{kind}-{'public' if public else 'private'}"
                documents[name] = add_document(
                    actor=owner,
                    record=record,
                    upload=SimpleUploadedFile(f"{name}.txt", f"Minutes of {name}".encode(), "text/plain"),
                    kind="report",
                    is_public=public,
                )
    return contacts, documents


def document_visible(principal, label) -> bool:
    """Whoever reads the record, except that partners see only the public documents of public records."""
    if not sees(principal, city_of(label), visibility_of(label)):
        return False
    return principal in INTERNAL_READERS or label.endswith("-public")


def document_creates(world):
    cases = []
    for kind in ("agreement", "engagement"):
        for label, record in world[f"{kind}s"].items():

            def expected(principal, label=label):
                if principal == "anonymous":
                    return 401
                if principal in ("partner", "liaison"):
                    return 403
                visible = sees(principal, city_of(label), visibility_of(label))
                return 201 if visible and owns(principal, city_of(label)) else 400

            def body(kind=kind, label=label, record=record):
                return {
                    "file": SimpleUploadedFile(f"new-{label}.csv", f"city,note\n{label},new\n".encode(), "text/csv"),
                    "record_type": kind,
                    "record_id": record.pk,
                    "kind": "briefing",
                }

            cases.append((f"{label}-{kind}", body, expected))
    return cases


def for_each_city_record(kind):
    return lambda world: world[kind]


def city_of(label) -> str:
    return label.split("-")[0]


def visibility_of(label) -> str:
    return label.split("-")[1]


# --- what each endpoint holds and who may do what ------------------------------------------------


@dataclasses.dataclass
class Spec:
    model: type
    records: Callable  # world -> {label: instance}, every instance of `model` in the world
    can_see: Callable  # (principal, label) -> bool
    can_change: Callable = lambda principal, label: False  # (principal, label), for a visible record
    lookup: str = "pk"
    patch: dict | None = None
    put: Callable | None = None  # instance -> full body
    creates: Callable | None = None  # world -> [(label, body, principal -> expected status)]
    body_format: str = "json"


def city_record_creates(body):
    def creates(world):
        cases = []
        for letter, city in world["cities"].items():

            def expected(principal, letter=letter):
                if principal == "anonymous":
                    return 401
                if principal in ("partner", "liaison"):
                    return 403
                return 201 if owns(principal, letter) else 400

            cases.append((letter, {**body, "city": city.pk, "title": f"New in {letter} — Zürich"}, expected))
        return cases

    return creates


def follow_up_creates(world):
    cases = []
    for label, engagement in world["engagements"].items():

        def expected(principal, label=label):
            if principal == "anonymous":
                return 401
            if principal in ("partner", "liaison"):
                return 403
            if principal == "admin":
                return 201
            visible = sees(principal, city_of(label), visibility_of(label))
            return 201 if visible and owns(principal, city_of(label)) else 400

        cases.append((label, {"engagement": engagement.pk, "description": "Send the minutes"}, expected))
    return cases


def owned_creates(make_body):
    def creates(world):
        cases = []
        for letter, city in world["cities"].items():

            def expected(principal, letter=letter):
                if principal == "anonymous":
                    return 401
                if principal in ("partner", "liaison"):
                    return 403
                return 201 if owns(principal, letter) else 400

            cases.append((letter, make_body(city), expected))
        return cases

    return creates


def everyone_writing_creates(body_for, writers):
    def creates(world):
        def expected(principal):
            if principal == "anonymous":
                return 401
            return 201 if principal in writers else 403

        return [(label, body_for(label), expected) for label in ("one", "two")]

    return creates


def engagement_put(engagement):
    return {
        "title": "Replaced title",
        "city": engagement.city_id,
        "kind": "conference",
        "status": "planned",
        "start_date": "2026-06-01",
    }


def agreement_put(agreement):
    return {"title": "Replaced title", "city": agreement.city_id, "kind": "declaration", "status": "signed"}


SPECS = {
    "engagement": Spec(
        model=Engagement,
        records=for_each_city_record("engagements"),
        can_see=lambda p, label: sees(p, city_of(label), visibility_of(label)),
        can_change=lambda p, label: owns(p, city_of(label)),
        patch={"title": "Renamed: São Paulo, 北京"},
        put=engagement_put,
        creates=city_record_creates({"kind": "other", "status": "planned", "start_date": "2026-05-01"}),
    ),
    "agreement": Spec(
        model=Agreement,
        records=for_each_city_record("agreements"),
        can_see=lambda p, label: sees(p, city_of(label), visibility_of(label)),
        can_change=lambda p, label: owns(p, city_of(label)),
        patch={"title": "Renamed: Kraków"},
        put=agreement_put,
        creates=city_record_creates({"kind": "sister_city", "status": "proposed"}),
    ),
    "follow-up": Spec(
        model=FollowUp,
        records=for_each_city_record("follow_ups"),
        can_see=lambda p, label: p in INTERNAL_READERS and sees(p, city_of(label), visibility_of(label)),
        can_change=lambda p, label: owns(p, city_of(label)),
        patch={"description": "Send the minutes again"},
        creates=follow_up_creates,
    ),
    "office": Spec(
        model=InternationalAffairsOffice,
        records=lambda world: world["offices"],
        can_see=signed_in,
        can_change=owns,
        patch={"head_name": "Zoë Müller"},
        creates=owned_creates(lambda city: {"city": city.pk, "name": "Office of Global Affairs"}),
    ),
    "membership": Spec(
        model=NetworkMembership,
        records=lambda world: world["memberships"],
        can_see=signed_in,
        can_change=owns,
        patch={"notes": "Chairs the climate working group"},
        creates=owned_creates(lambda city: {"network": "c40", "city": city.pk, "role": "observer"}),
    ),
    "organization": Spec(
        model=Organization,
        records=lambda world: world["organizations"],
        can_see=signed_in,
        can_change=lambda p, label: p in ("staff_a", "staff_b", "admin"),
        patch={"website": "https://example.org/changed"},
        creates=everyone_writing_creates(
            lambda label: {"name": f"Chamber of Commerce {label}", "kind": "ngo", "country": "JP"},
            writers={"staff_a", "staff_b", "admin"},
        ),
    ),
    "city": Spec(
        model=City,
        records=lambda world: {
            "A": world["cities"]["A"],
            "B": world["cities"]["B"],
            "foreign": City.objects.get(name="Nagoya"),
        },
        can_see=signed_in,
        can_change=admin_only,
        patch={"population": 4_000_000},
        creates=everyone_writing_creates(lambda label: {"name": f"Toyota {label}", "country": "JP"}, writers={"admin"}),
    ),
    "network": Spec(
        model=Network,
        records=lambda world: {n.slug: n for n in Network.objects.all()},
        can_see=signed_in,
        can_change=admin_only,
        lookup="slug",
        patch={"acronym": "C40X"},
        creates=everyone_writing_creates(
            lambda label: {"slug": f"new-network-{label}", "name": f"New network {label}"}, writers={"admin"}
        ),
    ),
    "country": Spec(
        model=None,
        records=lambda world: {c.iso2: c for c in Country.objects.all()},
        can_see=signed_in,
        lookup="iso2",
    ),
    "topic": Spec(
        model=None,
        records=lambda world: {t.slug: t for t in Topic.objects.all()},
        can_see=signed_in,
        lookup="slug",
    ),
    "notification": Spec(
        model=Notification,
        records=lambda world: world["notifications"],
        # Only one's own: the label is the recipient.
        can_see=lambda p, label: p == label,
    ),
    "import": Spec(
        model=ImportJob,
        records=lambda world: world["import_jobs"],
        can_see=lambda p, label: p == label or p == "admin",
        creates=lambda world: [
            (
                "csv",
                lambda: {
                    "kind": "engagements",
                    "dry_run": "true",
                    "file": SimpleUploadedFile("e.csv", b"city,title\n", content_type="text/csv"),
                },
                lambda p: {"anonymous": 401, "partner": 403, "liaison": 403}.get(p, 201),
            )
        ],
        body_format="multipart",
    ),
    "compliance-rule": Spec(
        model=ComplianceRule,
        records=lambda world: world["rules"],
        # Reference data: anyone signed in.
        can_see=signed_in,
    ),
    "compliance-flag": Spec(
        model=ComplianceFlag,
        records=lambda world: world["flags"],
        # A flag follows its record's visibility (SPEC §8.2) ...
        can_see=lambda p, label: sees(p, city_of(label), visibility_of(label)),
        # ... and is resolved or waived by the record's city's staff, liaisons and admins.
        can_change=lambda p, label: owns(p, city_of(label)) or p == "liaison",
        patch={"status": "waived", "reason": "The council withdrew from it (resolution 2026-14)."},
    ),
    "stats-engagements": Spec(
        model=Engagement,
        records=for_each_city_record("engagements"),
        can_see=lambda p, label: sees(p, city_of(label), visibility_of(label)),
    ),
    # Contacts (SPEC §8.4): people's data, internal readers only; the home city's staff keep them.
    "contact": Spec(
        model=Contact,
        records=lambda world: world["contacts"],
        can_see=lambda p, label: p in INTERNAL_READERS,
        can_change=owns,
        patch={"languages": "Deutsch, 日本語"},
        creates=owned_creates(lambda city: {"home_city": city.pk, "name": "Yuki Satō", "organization": "JETRO"}),
    ),
    # Documents (SPEC §8.4): read with their record (partners: public documents of public records);
    # added and removed by the record's city's staff.
    "document": Spec(
        model=Document,
        records=lambda world: world["documents"],
        can_see=document_visible,
        can_change=lambda p, label: owns(p, city_of(label)),
        creates=document_creates,
        body_format="multipart",
    ),
    # Global search (SPEC §8.1): every record the principal may see, none other, counted so.
    "search": Spec(
        model=None,
        records=for_each_city_record("engagements"),
        can_see=lambda p, label: sees(p, city_of(label), visibility_of(label)),
    ),
}


def check_search(world, client, principal):
    """`q` finds every visible agreement or engagement by a word of its title, accents ignored
    (`Agreement` also matches `Agréement`), and no other; each kind's count is what the principal
    may see; contacts are searched by internal readers only."""
    from contacts.models import Contact

    Contact.objects.create(home_city=world["cities"]["A"], name="Agréement Advisor")
    for word, kind in (("Engagement", "engagement"), ("agreement", "agreement")):
        response = client.get(reverse("api:search-list"), {"q": word, "page_size": 500})
        if principal == "anonymous":
            assert response.status_code == 401
            return
        assert response.status_code == 200, response.content
        body = response.json()
        records = world[f"{kind}s"]
        want = {records[label].pk for label in records if sees(principal, city_of(label), visibility_of(label))}
        got = {hit["id"] for hit in body["results"] if hit["kind"] == kind}
        assert got == want, word
        assert body["counts"][kind] == len(want)
        assert body["count"] == sum(body["counts"].values()) == len(body["results"])
        assert all(hit["url"] for hit in body["results"])
        if kind == "agreement":
            assert body["counts"].get("contact") == (1 if principal in INTERNAL_READERS else None)


# --- the routes, read from the router -------------------------------------------------------------


def router_endpoints():
    """(basename, method, action, detail) for every route the router serves."""
    endpoints = []
    for _prefix, viewset, basename in router.registry:
        allowed = set(getattr(viewset, "http_method_names", ()))
        for route in router.get_routes(viewset):
            for method, action in router.get_method_map(viewset, route.mapping).items():
                if method in allowed:
                    endpoints.append((basename, method, action, route.detail))
    return endpoints


ENDPOINTS = router_endpoints()
# Rules for actions beyond list/retrieve/create/update/partial_update/destroy.
EXTRA_ACTIONS = {
    ("engagement", "get", "reviews"),
    ("engagement", "post", "reviews"),
    ("notification", "post", "read"),
    ("document", "get", "file"),
}
STANDARD_ACTIONS = {"list", "retrieve", "create", "update", "partial_update", "destroy"}
MATRIX = [
    (basename, method, action, principal)
    for basename, method, action, _detail in ENDPOINTS
    if basename in SPECS
    for principal in PRINCIPALS
]


def test_every_route_is_covered():
    uncovered = [
        (basename, method, action)
        for basename, method, action, _detail in ENDPOINTS
        if basename not in SPECS or (action not in STANDARD_ACTIONS and (basename, method, action) not in EXTRA_ACTIONS)
    ]
    assert not uncovered, f"Routes without permission-matrix rules: {uncovered}"
    for basename, _method, action, _detail in ENDPOINTS:
        spec = SPECS[basename]
        if action == "create":
            assert spec.creates, basename
        if action in ("update", "partial_update"):
            assert spec.patch and (action != "update" or spec.put), basename


def client_for(world, principal):
    client = APIClient()
    user = world["cast"][principal]
    if user is not None:
        client.force_authenticate(user)
    return client


def row_state(instance):
    return type(instance).objects.filter(pk=instance.pk).values().first()


def url(basename, action, key=None):
    if key is None:
        return reverse(f"api:{basename}-list")
    name = f"{basename}-detail" if action in STANDARD_ACTIONS else f"{basename}-{action}"
    return reverse(f"api:{name}", args=[key])


@pytest.mark.parametrize(("basename", "method", "action", "principal"), MATRIX)
def test_matrix(db, world, basename, method, action, principal):
    spec = SPECS[basename]
    client = client_for(world, principal)
    records = spec.records(world)
    checks = 0

    if action == "list":
        response = client.get(
            url(basename, action), {"page_size": 500} if basename != "stats-engagements" else {"group_by": "city"}
        )
        if basename == "search":
            check_search(world, client, principal)
            return
        if principal == "anonymous":
            assert response.status_code == 401
            return
        assert response.status_code == 200, response.content
        if basename == "stats-engagements":
            # Counts count only what the principal sees.
            expected = {}
            for label, record in records.items():
                if spec.can_see(principal, label):
                    expected[record.city_id] = expected.get(record.city_id, 0) + 1
            assert {row["key"]: row["count"] for row in response.json()} == expected
            return
        body = response.json()
        got = {row[spec.lookup if spec.lookup != "pk" else "id"] for row in body["results"]}
        want = {getattr(r, spec.lookup) for label, r in records.items() if spec.can_see(principal, label)}
        assert got == want
        assert body["count"] == len(want)
        return

    if action == "create":
        for label, body, expected in spec.creates(world):
            if basename == "office":
                # One office per city: make room so the rule under test is the permission.
                InternationalAffairsOffice.objects.filter(city_id=body["city"]).delete()
            before = spec.model.objects.count()
            response = client.post(url(basename, action), body() if callable(body) else body, format=spec.body_format)
            assert response.status_code == expected(principal), (label, response.content)
            if expected(principal) == 201:
                assert spec.model.objects.count() == before + 1
            else:
                assert spec.model.objects.count() == before
                if expected(principal) == 400:
                    # The refusal names the field that points at someone else's city.
                    assert set(response.json()) & {"city", "engagement", "home_city", "record_id"}, response.content
            checks += 1
        assert checks
        return

    for label, record in records.items():
        key = getattr(record, spec.lookup)
        visible = spec.can_see(principal, label)
        if action == "retrieve":
            response = client.get(url(basename, action, key))
            expected = 401 if principal == "anonymous" else (200 if visible else 404)
            assert response.status_code == expected, (label, response.content)
        elif action == "reviews" and method == "get":
            response = client.get(url(basename, action, key))
            expected = 401 if principal == "anonymous" else (200 if visible else 404)
            assert response.status_code == expected, (label, response.content)
            if expected == 200:
                count = response.json()["count"]
                # Reviews are internal: partners see a public engagement but none of its reviews.
                assert count == (1 if principal in INTERNAL_READERS else 0), label
        elif action == "file":
            response = client.get(url(basename, action, key))
            expected = 401 if principal == "anonymous" else (200 if visible else 404)
            assert response.status_code == expected, (label, response.content)
            if expected == 200:
                assert b"".join(response.streaming_content) == f"Minutes of {label}".encode()
                assert response["Content-Disposition"].startswith("attachment;")
        elif action == "read":
            response = client.post(url(basename, action, key))
            expected = 401 if principal == "anonymous" else (200 if visible else 404)
            assert response.status_code == expected, (label, response.content)
            assert (row_state(record)["read_at"] is not None) == (expected == 200), label
        elif action == "reviews" and method == "post":
            before = Review.objects.count()
            response = client.post(
                url(basename, action, key), {"decision": "flagged", "comment": "Check"}, format="json"
            )
            if principal == "anonymous":
                expected = 401
            elif not visible:
                expected = 404
            else:
                expected = 201 if principal in ("liaison", "admin") else 403
            assert response.status_code == expected, (label, response.content)
            assert Review.objects.count() == before + (1 if expected == 201 else 0)
        else:
            before = row_state(record)
            if action == "destroy":
                response = client.delete(url(basename, action, key))
                success = 204
            else:
                body = spec.put(record) if action == "update" else spec.patch
                response = getattr(client, method)(url(basename, action, key), body, format="json")
                success = 200
            if principal == "anonymous":
                expected = 401
            elif not visible:
                expected = 404
            else:
                expected = success if spec.can_change(principal, label) else 403
            assert response.status_code == expected, (label, response.content)
            if expected != success:
                assert row_state(record) == before, f"{label}: a refused write changed the record"
            elif action == "destroy":
                assert row_state(record) is None
            else:
                assert row_state(record) != before
        checks += 1
    assert checks


def test_matrix_size():
    """The matrix is endpoint × method × principal × record; this keeps it from quietly shrinking."""
    assert len(MATRIX) >= 6 * 30
