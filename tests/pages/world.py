"""The world the page matrix reads: two US home cities, every visibility of agreement and
engagement in each, and a MARKER in every text field of every record some principal may not see.

Expectations are written here from SPEC §2 (never read from accounts.policy):
- public: anyone; internal: staff, liaisons, admins; restricted: the owning city's staff,
  liaisons, admins;
- people (participants, follow-ups and their assignees, reviews and reviewers, who wrote or
  changed a record): signed-in staff, liaisons and admins only, never partners or the public.

Each marker carries who may read it, so a response can be checked for every marker its reader
may not see (`forbidden_in`).
"""

import dataclasses
import datetime as dt
from collections.abc import Callable

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from calendars.models import CalendarFeed, token_digest
from calendars.services import issue_feed, revoke_feed
from cities.models import WatchedCountry
from cities.services import save_membership, save_office
from compliance import services as compliance_services
from compliance.models import ComplianceFlag, ComplianceRule
from contacts.services import save_contact
from documents.services import add_document
from engagements.services import add_review, save_agreement, save_engagement, save_follow_up
from imports.models import ImportJob, ImportRowError
from notifications.models import EmailPreference, Notification
from tests import factories

try:  # Records written outside the services must enter the write path (engagements.write_path).
    from engagements.write_path import write_path
except ImportError:  # pragma: no cover - before the guard existed
    from contextlib import nullcontext as write_path

PRINCIPALS = ["anonymous", "partner", "staff_a", "staff_b", "liaison", "admin"]
HOME = {"staff_a": "A", "staff_b": "B"}
INTERNAL_READERS = {"staff_a", "staff_b", "liaison", "admin"}
VISIBILITIES = ["public", "internal", "restricted"]
CITIES = ["A", "B"]
RECORD_LABELS = [f"{city}-{visibility}" for city in CITIES for visibility in VISIBILITIES]
MISSING_ID = 987_654
# The agreement (of its own city) each engagement is finally linked to: every link reaches a
# record that some who see the engagement may not see.
LINKED_AGREEMENT = {"public": "restricted", "internal": "restricted", "restricted": "public"}
# ... and the one it was first linked to, so the change shows in its history.
FIRST_AGREEMENT = "internal"
# Public records start internal and are published by their second version: what the first held
# (its old summary) is non-public history.
FIRST_VISIBILITY = {"public": "internal"}


def sees(principal, city, visibility) -> bool:
    """SPEC §2 visibility of an agreement or engagement of city `city` ("A"/"B")."""
    if principal == "anonymous":
        return visibility == "public"
    if principal in ("liaison", "admin"):
        return True
    if principal == "partner":
        return visibility == "public"
    return visibility != "restricted" or HOME[principal] == city


def sees_label(principal, label) -> bool:
    city, visibility = label.split("-")
    return sees(principal, city, visibility)


def sees_people(principal) -> bool:
    return principal in INTERNAL_READERS


def owns(principal, city) -> bool:
    return principal == "admin" or HOME.get(principal) == city


def marker(*parts) -> str:
    return "zq-" + "-".join(parts).lower().replace("_", "") + "-zq"


@dataclasses.dataclass(frozen=True)
class Marker:
    text: str
    what: str  # what it is, for the failure message
    readable_by: Callable  # principal -> bool


@dataclasses.dataclass
class World:
    cast: dict
    cities: dict
    foreign: object
    berlin: object
    network: object
    agreements: dict
    engagements: dict
    follow_ups: dict
    reviews: dict
    memberships: dict
    offices: dict
    notifications: dict
    import_jobs: dict
    markers: list
    flags: dict = dataclasses.field(default_factory=dict)
    # A contact kept by each home city ("A", "B"), and the documents on every record, by
    # `<label>-<agreement|engagement>-<public|private>` (SPEC §8.4).
    contacts: dict = dataclasses.field(default_factory=dict)
    documents: dict = dataclasses.field(default_factory=dict)
    # Calendar feeds by variant (an owner, or `staff_a-revoked`): their secret token and id.
    feed_tokens: dict = dataclasses.field(default_factory=dict)
    feed_ids: dict = dataclasses.field(default_factory=dict)

    def agreement_id(self, label) -> int:
        return MISSING_ID if label == "missing" else self.agreements[label].pk

    def engagement_id(self, label) -> int:
        return MISSING_ID if label == "missing" else self.engagements[label].pk

    def forbidden_in(self, principal, body: str) -> list[str]:
        """The markers `body` shows that `principal` may not read."""
        return [f"{m.what} ({m.text})" for m in self.markers if m.text in body and not m.readable_by(principal)]

    def texts(self, what_prefix) -> dict:
        return {m.what: m.text for m in self.markers if m.what.startswith(what_prefix)}


def person(username, role, **extra):
    """A user whose name and email address carry their marker."""
    name = marker("person", username)
    return factories.UserFactory(
        username=username,
        role=role,
        first_name=username.capitalize(),
        last_name=name,
        email=f"{name}@example.org",
        **extra,
    )


def build_cast(city_a, city_b):
    return {
        "anonymous": None,
        "partner": person("pat", "partner"),
        "staff_a": person("alice", "staff", home_cities=[city_a]),
        "staff_b": person("bob", "staff", home_cities=[city_b]),
        "liaison": person("lena", "liaison", portfolio_all=True),
        "admin": person("ada", "admin", is_superuser=True, is_staff=True),
    }


def build_world() -> World:
    """Records are written through the services (as a person would), so authorship and history
    are real; call inside a transaction."""
    today = timezone.localdate()
    city_a = factories.CityFactory(name="Los Angeles", subdivision="US-CA", population=3_900_000)
    city_b = factories.CityFactory(name="Chicago", subdivision="US-IL", population=2_700_000)
    foreign = factories.CityFactory(
        name="Nagoya", country=factories.country("JP"), subdivision="", population=2_300_000
    )
    berlin = factories.CityFactory(name="Berlin", country=factories.country("DE"), subdivision="", population=3_600_000)
    cities = {"A": city_a, "B": city_b}
    cast = build_cast(city_a, city_b)
    climate = factories.topic("climate")
    network = factories.NetworkFactory(slug="c40", name="C40 Cities")
    goethe = factories.OrganizationFactory(name="Goethe-Institut", kind="ngo", country=factories.country("DE"))
    markers: list[Marker] = []

    def mark(text, what, readable_by):
        markers.append(Marker(text, what, readable_by))
        return text

    for username in ("partner", "staff_a", "staff_b", "liaison", "admin"):
        user = cast[username]
        mark(
            user.last_name,
            f"name of {username}",
            lambda p, username=username: sees_people(p) or p == username,
        )

    # A contact kept by each home city: people's data, for internal readers only.
    contacts = {}
    for letter, city in cities.items():

        def contact_m(field, letter=letter):
            return mark(marker(f"contact-{letter}", field), f"contact of {letter} {field}", sees_people)

        contacts[letter] = save_contact(
            actor=cast[f"staff_{letter.lower()}"],
            data={
                "home_city": city,
                "name": contact_m("name"),
                "title": contact_m("title"),
                "organization": contact_m("organization"),
                "email": f"{contact_m('email')}@example.org",
                "phone": "+1 555 0100",
                "notes": contact_m("notes"),
                "city": foreign,
            },
        )
        mark(f"/contacts/{contacts[letter].pk}/", f"link to the contact of {letter}", sees_people)

    agreements, engagements, follow_ups, reviews = {}, {}, {}, {}
    with write_path():
        for letter, city in cities.items():
            actor = cast[f"staff_{letter.lower()}"]
            for visibility in VISIBILITIES:
                label = f"{letter}-{visibility}"

                def record(p, letter=letter, visibility=visibility):
                    return sees(p, letter, visibility)

                def m(model, field, label=label, record=record):
                    return mark(marker(label, model, field), f"{label} {model} {field}", record)

                def past(p, letter=letter, visibility=visibility):
                    """What the record held before it was made public was internal (SPEC §2:
                    no non-public history for partners and the public)."""
                    return sees(p, letter, FIRST_VISIBILITY.get(visibility, visibility))

                agreement = save_agreement(
                    actor=actor,
                    data={
                        "city": city,
                        "title": m("agreement", "title"),
                        "kind": "sister_city",
                        "status": "active",
                        "signed_on": dt.date(2020, 5, 1),
                        "expires_on": today + dt.timedelta(days=30),
                        "summary": mark(
                            marker(label, "agreement", "summary-old"), f"{label} agreement old summary", past
                        ),
                        "url": f"https://example.org/{m('agreement', 'url')}",
                        "external_id": m("agreement", "externalid"),
                        "visibility": FIRST_VISIBILITY.get(visibility, visibility),
                        "counterpart_cities": [foreign],
                        "counterpart_organizations": [goethe],
                        "topics": [climate],
                    },
                )
                agreements[label] = save_agreement(
                    actor=actor,
                    agreement=agreement,
                    data={"summary": m("agreement", "summary"), "visibility": visibility},
                )
            for visibility in VISIBILITIES:
                label = f"{letter}-{visibility}"

                def record(p, letter=letter, visibility=visibility):
                    return sees(p, letter, visibility)

                def people(p, letter=letter, visibility=visibility):
                    return sees_people(p) and sees(p, letter, visibility)

                def m(model, field, label=label, readable=record):
                    return mark(marker(label, model, field), f"{label} {model} {field}", readable)

                def past(p, letter=letter, visibility=visibility):
                    return sees(p, letter, FIRST_VISIBILITY.get(visibility, visibility))

                engagement = save_engagement(
                    actor=actor,
                    data={
                        "city": city,
                        "title": m("engagement", "title"),
                        "kind": "bilateral_meeting",
                        "status": "planned",
                        "start_date": today + dt.timedelta(days=14),
                        "location_city": foreign,
                        "venue": m("engagement", "venue"),
                        "summary": m("engagement", "summary-old", readable=past),
                        "outcomes": m("engagement", "outcomes"),
                        "external_id": m("engagement", "externalid"),
                        "visibility": FIRST_VISIBILITY.get(visibility, visibility),
                        "federal_coordination_requested": True,
                        "counterpart_cities": [foreign],
                        "counterpart_organizations": [goethe],
                        "topics": [climate],
                        "agreement": agreements[f"{letter}-{FIRST_AGREEMENT}"],
                        "participants": [
                            {
                                "name": m("participant", "name", readable=people),
                                "title": m("participant", "title", readable=people),
                                "organization": m("participant", "organization", readable=people),
                                "side": "counterpart",
                                "contact": contacts[letter],
                            }
                        ],
                    },
                )
                engagement = save_engagement(
                    actor=actor,
                    engagement=engagement,
                    data={
                        "summary": m("engagement", "summary"),
                        "visibility": visibility,
                        "agreement": agreements[f"{letter}-{LINKED_AGREEMENT[visibility]}"],
                    },
                )
                engagements[label] = engagement
                follow_ups[label] = save_follow_up(
                    actor=actor,
                    data={
                        "engagement": engagement,
                        "description": m("followup", "description", readable=people),
                        "due_on": today + dt.timedelta(days=1),
                        "assignee": actor,
                    },
                )
                reviews[label] = add_review(
                    reviewer=cast["liaison"],
                    engagement=engagement,
                    decision="needs_follow_up",
                    comment=m("review", "comment", readable=people),
                )
        memberships, offices = {}, {}
        for letter, city in cities.items():
            actor = cast[f"staff_{letter.lower()}"]
            membership = save_membership(
                actor=actor,
                data={"network": network, "city": city, "role": "member", "joined_on": dt.date(2015, 1, 1)},
            )
            memberships[letter] = save_membership(
                actor=actor, membership=membership, data={"notes": "Chairs the climate working group"}
            )
            offices[letter] = save_office(
                actor=actor, data={"city": city, "name": f"Office of International Affairs of {city.name}"}
            )

    notifications = {}
    for username, user in cast.items():
        if user is None:
            continue
        title = mark(marker("notification", username), f"notification of {username}", lambda p, u=username: p == u)
        notifications[username] = Notification.objects.create(
            recipient=user, kind="review", object_key=f"matrix-{username}", title=title
        )
    # Notifications about records their recipient may not see (any more): the inbox must drop them.
    for username, label in (("staff_b", "A-restricted"), ("partner", "A-internal")):
        Notification.objects.create(
            recipient=cast[username],
            kind="engagement_alert",
            object_key=f"engagement:{engagements[label].pk}",
            title=f"Alert: {engagements[label].title}",
            engagement=engagements[label],
        )
        Notification.objects.create(
            recipient=cast[username],
            kind="agreement_expiring",
            object_key=f"agreement:{agreements[label].pk}",
            title=f"Expiring: {agreements[label].title}",
            agreement=agreements[label],
        )

    import_jobs = {}
    for username in ("staff_a", "staff_b"):

        def owner_or_admin(p, username=username):
            return p in (username, "admin")

        job = ImportJob.objects.create(
            kind="engagements",
            format="csv",
            file=f"imports/matrix-{username}.csv",
            original_name=mark(marker("importfile", username), f"import file of {username}", owner_or_admin) + ".csv",
            file_size=10,
            file_sha256=username.ljust(64, "0"),
            owner=cast[username],
            status="succeeded",
            total_rows=1,
            processed_rows=1,
            error_count=1,
        )
        ImportRowError.objects.create(
            job=job,
            row=2,
            column="title",
            value=mark(marker("importvalue", username), f"import row of {username}", owner_or_admin),
            message="Unknown city",
        )
        import_jobs[username] = job

    # Something for every admin changelist to show.
    WatchedCountry.objects.create(country=factories.country("RU"), reason="Sanctions regime")
    EmailPreference.objects.create(user=cast["staff_a"], kind="review", email=False)

    # A state-law rule per home state covering Japan (Nagoya): every record carries a flag, waived
    # with a reason that only those who see the record may read.
    for letter, city in cities.items():
        rule = ComplianceRule.objects.create(
            code=f"RULE-{letter}",
            jurisdiction=city.subdivision,
            name=f"Rule of {letter}",
            record_kinds="agreements;engagements",
            deadline_on=today + dt.timedelta(days=60),
        )
        rule.countries.set(["JP"])
    compliance_services.evaluate_everything()
    flags = {}
    for label in RECORD_LABELS:
        city, visibility = label.split("-")
        for kind, records in (("agreement", agreements), ("engagement", engagements)):
            flag = ComplianceFlag.objects.get(**{kind: records[label]})
            reason = mark(
                marker(label, kind, "flagreason"),
                f"{label} {kind} flag reason",
                lambda p, c=city, v=visibility: sees(p, c, v),
            )
            if kind == "engagement":
                ComplianceFlag.objects.filter(pk=flag.pk).update(status="waived", reason=reason)
            else:
                flags[label] = flag
                ComplianceFlag.objects.filter(pk=flag.pk).update(reason=reason)

    # Calendar feeds (SPEC §8.4): one per internal reader, named with a marker only its owner may
    # read; a revoked one; and one a partner holds from before (partners may not subscribe). The
    # tokens are markers no one may read: no page shows a feed's secret again.
    feed_tokens, feed_ids = {}, {}
    for variant in ("staff_a", "staff_b", "liaison", "admin", "staff_a-revoked", "partner"):
        owner = variant.split("-")[0]
        label = mark(marker("feed", variant), f"calendar feed name of {variant}", lambda p, o=owner: p == o)
        if owner == "partner":
            token = "partner-feed-token-from-before-zzzzzzzzzzzzzz"
            feed = CalendarFeed.objects.create(user=cast[owner], label=label, token_digest=token_digest(token))
        else:
            feed, token = issue_feed(user=cast[owner], label=label)
        if variant.endswith("-revoked"):
            revoke_feed(actor=cast[owner], feed=feed)
        mark(token, f"calendar feed token of {variant}", lambda p: False)
        feed_tokens[variant], feed_ids[variant] = token, feed.pk

    # On every agreement and engagement a public and a non-public document: read with the record,
    # except that partners and the public read only the public documents of public records.
    documents = {}
    for label in RECORD_LABELS:
        letter, visibility = label.split("-")
        for kind, records in (("agreement", agreements), ("engagement", engagements)):
            for public in (True, False):
                name = f"{label}-{kind}-{'public' if public else 'private'}"

                def reads(p, letter=letter, visibility=visibility, public=public):
                    return sees(p, letter, visibility) and (public or sees_people(p))

                documents[name] = add_document(
                    actor=cast[f"staff_{letter.lower()}"],
                    record=records[label],
                    upload=SimpleUploadedFile(f"{name}.txt", f"Minutes of {name}".encode(), "text/plain"),
                    kind="report",
                    title=mark(marker(name, "document"), f"title of document {name}", reads),
                    is_public=public,
                )
                mark(f"/documents/{documents[name].pk}/file/", f"link to document {name}", reads)

    # The URLs of records a principal may not see are markers too: not even the id may show.
    for label in RECORD_LABELS:
        for kind, records in (("engagements", engagements), ("agreements", agreements)):
            mark(
                f"/{kind}/{records[label].pk}/",
                f"link to {label} {kind[:-1]}",
                lambda p, label=label: sees_label(p, label),
            )

    return World(
        cast=cast,
        cities=cities,
        foreign=foreign,
        berlin=berlin,
        network=network,
        agreements=agreements,
        engagements=engagements,
        follow_ups=follow_ups,
        reviews=reviews,
        memberships=memberships,
        offices=offices,
        notifications=notifications,
        import_jobs=import_jobs,
        markers=markers,
        flags=flags,
        contacts=contacts,
        documents=documents,
        feed_tokens=feed_tokens,
        feed_ids=feed_ids,
    )
