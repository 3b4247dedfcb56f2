"""One regression test per hole found in the access rules and the write paths, each named after
what must hold (SPEC §2, §3, §6). Each builds its own small world from the shared cast
(tests/conftest.py): staff_a of Los Angeles (US-CA, city A), staff_b of Chicago (US-IL, city B),
a liaison covering every state, a partner and an admin."""

import datetime as dt
import io

import pytest
from django.core.files import File
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import PortfolioState
from accounts.services import issue_token
from cities.models import WatchedCountry
from engagements.models import Agreement, Engagement
from engagements.services import save_agreement, save_engagement
from imports.services import create_job, run_job
from notifications.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db

ALERT = "engagement_alert"
START = dt.date(2026, 9, 14)


def agreement(actor, city, visibility, title, **data):
    return save_agreement(
        actor=actor,
        data={
            "city": city,
            "title": title,
            "kind": "sister_city",
            "status": "active",
            "visibility": visibility,
            **data,
        },
    )


def engagement(actor, city, visibility, title, **data):
    return save_engagement(
        actor=actor,
        data={
            "city": city,
            "title": title,
            "kind": "bilateral_meeting",
            "status": "planned",
            "start_date": START,
            "visibility": visibility,
            **data,
        },
    )


def body_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", errors="replace")


def signed_in(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- a. imports alert liaisons as a form save does ---------------------------------------------------


@pytest.fixture
def liaisons(liaison):
    """lena covers every state, carla California (city A's state), nora New York only."""
    carla = factories.UserFactory(username="carla", role="liaison")
    PortfolioState.objects.create(user=carla, subdivision="US-CA")
    nora = factories.UserFactory(username="nora", role="liaison")
    PortfolioState.objects.create(user=nora, subdivision="US-NY")
    return {"lena": liaison, "carla": carla, "nora": nora}


def alerts_for(record) -> list[str]:
    return sorted(
        Notification.objects.filter(kind=ALERT, engagement=record).values_list("recipient__username", flat=True)
    )


def import_csv(path, owner):
    with path.open("rb") as handle:
        job = create_job(owner=owner, upload=File(handle, name=path.name), kind="engagements", enqueue=False)
    return run_job(job.pk)


def test_imported_engagement_alerts_covering_liaisons_once(
    settings, tmp_path, staff_a, city_a, foreign_city, liaisons, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    WatchedCountry.objects.create(country=factories.country("RU"), reason="Sanctions regime")
    factories.CityFactory(name="Moscow", country=factories.country("RU"), subdivision="", population=12_000_000)
    # The same engagement saved the way a form saves it: the reference for what an import must do.
    with django_capture_on_commit_callbacks(execute=True):
        saved = engagement(
            staff_a,
            city_a,
            "internal",
            "Saved through the form",
            federal_coordination_requested=True,
            counterpart_cities=[foreign_city],
        )
    assert alerts_for(saved) == ["carla", "lena"]

    path = tmp_path / "engagements.csv"
    path.write_text(
        "external_id,city,title,kind,status,start_date,counterpart_cities,visibility,federal_coordination_requested\n"
        'FC-1,"Los Angeles, US-CA",Port logistics talks,trade_mission,planned,2026-09-14,"Nagoya, JP",internal,true\n'
        'WL-1,"Los Angeles, US-CA",Sister-city call,virtual_meeting,planned,2026-09-15,"Moscow, RU",internal,false\n',
        encoding="utf-8",
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = import_csv(path, staff_a)
    assert (job.status, job.created, job.error_count) == ("succeeded", 2, 0), job.message

    federal = Engagement.objects.get(external_id="FC-1")
    watched = Engagement.objects.get(external_id="WL-1")
    assert alerts_for(federal) == alerts_for(saved) == ["carla", "lena"], (
        "federal coordination: covering liaisons, once each"
    )
    assert alerts_for(watched) == ["carla", "lena"], "watch-list counterpart: covering liaisons, once each"
    watch_alert = Notification.objects.get(kind=ALERT, engagement=watched, recipient=liaisons["carla"])
    assert any("Russia" in reason for reason in watch_alert.data.get("reasons", [])), watch_alert.data

    # The same file again changes nothing, so it alerts nobody (here through the management command).
    before = Notification.objects.filter(kind=ALERT).count()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "importfile", "engagements", str(path), "--as", staff_a.username, stdout=io.StringIO(), stderr=io.StringIO()
        )
    assert Engagement.objects.filter(external_id__in=["FC-1", "WL-1"]).count() == 2
    assert Notification.objects.filter(kind=ALERT).count() == before


# --- b. an admin save is a save like any other ---------------------------------------------------------


def form_data(form) -> dict:
    """What a browser would post back for an unbound Django form as rendered."""
    data = {}
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif value is None:
            data[key] = ""
        elif isinstance(value, list | tuple):
            data[key] = [str(getattr(item, "pk", item)) for item in value]
        elif hasattr(value, "isoformat"):
            data[key] = value.isoformat()
        else:
            data[key] = str(getattr(value, "pk", value))
    return data


def admin_change_form_data(response) -> dict:
    data = form_data(response.context["adminform"].form)
    for inline in response.context.get("inline_admin_formsets", []):
        formset = inline.formset
        data.update(form_data(formset.management_form))
        for form in formset.forms:
            data.update(form_data(form))
    return data


@pytest.mark.parametrize("model", [Engagement, Agreement])
def test_admin_save_bumps_version_writes_history_and_derives_countries(
    model, admin_user, staff_a, city_a, foreign_city
):
    berlin = factories.CityFactory(name="Berlin", country=factories.country("DE"), subdivision="", population=3_600_000)
    make = engagement if model is Engagement else agreement
    record = make(staff_a, city_a, "internal", "Admin-edited record", counterpart_cities=[foreign_city])
    version, history = record.version, record.history.count()
    assert set(record.counterpart_countries.values_list("iso2", flat=True)) == {"JP"}
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{record.pk}/change/"
    client = signed_in(admin_user)
    page = client.get(url)
    assert page.status_code == 200
    data = admin_change_form_data(page)
    data["counterpart_cities"] = [str(foreign_city.pk), str(berlin.pk)]
    data["_save"] = "Save"

    response = client.post(url, data)

    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context and "adminform" in response.context else response
    )
    record = model.objects.get(pk=record.pk)
    assert record.version == version + 1, "an admin save bumps the version"
    assert record.history.count() == history + 1, "an admin save writes exactly one history entry"
    assert set(record.counterpart_countries.values_list("iso2", flat=True)) == {"JP", "DE"}, (
        "counterpart countries are derived from the counterparts on an admin save too"
    )


# --- c. a visible engagement does not show the agreement one may not see -------------------------------


def test_engagement_page_hides_linked_restricted_agreement_title(staff_a, staff_b, partner, city_a):
    internal = agreement(staff_a, city_a, "internal", "Zqinternal agreement of LA")
    restricted = agreement(staff_a, city_a, "restricted", "Zqrestricted agreement of LA")
    public_one = engagement(staff_a, city_a, "public", "Public port visit", agreement=internal)
    # Re-linked, so the history holds both agreements.
    public_one = save_engagement(actor=staff_a, engagement=public_one, data={"agreement": restricted})
    internal_one = engagement(staff_a, city_a, "internal", "Internal port visit", agreement=restricted)

    readers = {
        # staff of B see internal records, never A's restricted ones
        "staff_b": (staff_b, {public_one, internal_one}, [restricted]),
        # a partner sees public records only
        "partner": (partner, {public_one}, [restricted, internal]),
    }
    leaks = []
    for name, (user, pages, hidden) in readers.items():
        client = signed_in(user)
        for record in pages:
            response = client.get(f"/engagements/{record.pk}/")
            assert response.status_code == 200, (name, record.title)
            body = body_of(response)
            assert record.title in body
            for other in hidden:
                for trace in (other.title, f"/agreements/{other.pk}/"):
                    if trace in body:
                        leaks.append(f"{name} on /engagements/{record.pk}/ ({record.title}) sees {trace!r}")
    assert not leaks, leaks


# --- d. a filter by a hidden id is a filter by a missing id ----------------------------------------------


def test_agreement_filter_by_hidden_id_matches_nothing(staff_a, staff_b, partner, city_a):
    restricted = agreement(staff_a, city_a, "restricted", "Zqrestricted agreement of LA")
    under_it = [
        engagement(staff_a, city_a, "public", "Zqpublic engagement under it", agreement=restricted),
        engagement(staff_a, city_a, "internal", "Zqinternal engagement under it", agreement=restricted),
    ]
    missing = 987_654
    problems = []
    for name, user in (("staff_b", staff_b), ("partner", partner)):
        api = APIClient()
        api.force_authenticate(user)
        for path, params in (
            ("/api/v1/engagements/", {}),
            ("/api/v1/stats/engagements/", {"group_by": "kind"}),
        ):
            hidden = api.get(path, {**params, "agreement": restricted.pk})
            absent = api.get(path, {**params, "agreement": missing})
            if hidden.status_code != absent.status_code or hidden.json() != absent.json():
                problems.append(
                    f"{name} {path}?agreement=<hidden id>: {hidden.status_code} {hidden.json()} "
                    f"but ?agreement=<missing id>: {absent.status_code} {absent.json()}"
                )
        client = signed_in(user)
        for suffix in ("", "&format=csv"):
            body = body_of(client.get(f"/engagements/?agreement={restricted.pk}{suffix}"))
            shown = [record.title for record in under_it if record.title in body]
            if shown:
                problems.append(f"{name} /engagements/?agreement=<hidden id>{suffix} lists {shown}")
    assert not problems, problems


# --- e. partners never receive people -----------------------------------------------------------------


PEOPLE = {"name": "Zqname Yamada", "title": "Zqtitle Deputy Mayor", "organization": "Zqorg City of Nagoya"}


def test_partner_never_receives_participants(staff_a, partner, city_a):
    record = engagement(
        staff_a, city_a, "public", "Public delegation", participants=[{**PEOPLE, "side": "counterpart"}]
    )
    assert record.participants.count() == 1
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user=partner)}")
    leaks = []
    requests = [
        f"/api/v1/engagements/{record.pk}/",
        f"/api/v1/engagements/{record.pk}/?expand=participants",
        "/api/v1/engagements/",
        "/api/v1/engagements/?expand=participants",
        "/api/v1/engagements/?expand=city,counterpart_cities,topics",
        "/api/v1/engagements/?format=csv",
    ]
    for path in requests:
        response = api.get(path)
        body = body_of(response)
        assert response.status_code in (200, 400), (path, response.status_code)
        leaks += [f"{path}: {value}" for value in PEOPLE.values() if value in body]
        if response.status_code == 200 and response["Content-Type"].startswith("application/json"):
            payload = response.json()
            rows = payload.get("results", [payload])
            assert rows, path
            leaks += [f"{path}: participants {row['participants']}" for row in rows if row.get("participants")]
    assert not leaks, leaks


# --- f. an engagement's agreement belongs to its city ------------------------------------------------


def test_staff_cannot_link_engagement_to_other_citys_agreement_via_api(staff_a, staff_b, city_a, city_b):
    theirs = agreement(staff_b, city_b, "public", "Chicago's sister-city agreement")
    ours = engagement(staff_a, city_a, "internal", "Los Angeles trade mission")
    api = APIClient()
    api.force_authenticate(staff_a)
    before = (Engagement.objects.count(), Engagement.history.count())

    created = api.post(
        "/api/v1/engagements/",
        {
            "city": city_a.pk,
            "title": "Linked to Chicago's agreement",
            "kind": "other",
            "status": "planned",
            "start_date": "2026-05-01",
            "agreement": theirs.pk,
        },
        format="json",
    )
    changed = api.patch(f"/api/v1/engagements/{ours.pk}/", {"agreement": theirs.pk}, format="json")

    assert created.status_code == 400 and "agreement" in created.json(), (created.status_code, created.content)
    assert changed.status_code == 400 and "agreement" in changed.json(), (changed.status_code, changed.content)
    assert (Engagement.objects.count(), Engagement.history.count()) == before, "nothing is written"
    ours.refresh_from_db()
    assert (ours.agreement_id, ours.version) == (None, 1)


# --- g. public pages are public ---------------------------------------------------------------------


def test_public_record_pages_open_to_anonymous(staff_a, city_a):
    staff_a.first_name, staff_a.last_name = "Alice", "Zqauthor"
    staff_a.save()
    public_agreement = agreement(staff_a, city_a, "public", "Zqpublic sister-city agreement")
    public_engagement = engagement(
        staff_a,
        city_a,
        "public",
        "Zqpublic trade mission",
        agreement=public_agreement,
        participants=[{**PEOPLE, "side": "counterpart"}],
    )
    hidden_engagement = engagement(staff_a, city_a, "internal", "Zqinternal trade mission")
    hidden_agreement = agreement(staff_a, city_a, "internal", "Zqinternal sister-city agreement")
    anonymous = Client()
    problems = []

    for path, title in (
        (f"/engagements/{public_engagement.pk}/", public_engagement.title),
        (f"/agreements/{public_agreement.pk}/", public_agreement.title),
    ):
        response = anonymous.get(path)
        if response.status_code != 200:
            problems.append(f"{path}: {response.status_code} {response.get('Location', '')}")
            continue
        body = body_of(response)
        if title not in body:
            problems.append(f"{path}: no title")
        problems += [f"{path} shows {value!r}" for value in (*PEOPLE.values(), "Zqauthor", "alice") if value in body]

    for path in (
        f"/engagements/{hidden_engagement.pk}/",
        f"/agreements/{hidden_agreement.pk}/",
        "/engagements/987654/",
        "/agreements/987654/",
    ):
        response = anonymous.get(path)
        if (response.status_code, response.get("Location")) != (302, f"/accounts/login/?next={path}"):
            problems.append(f"{path}: {response.status_code} {response.get('Location', '')}, not the sign-in page")

    city_page = anonymous.get(f"/cities/{city_a.slug}/")
    assert city_page.status_code == 200
    body = body_of(city_page)
    for path in (f"/engagements/{public_engagement.pk}/", f"/agreements/{public_agreement.pk}/"):
        if f'href="{path}"' not in body:
            problems.append(f"the city page does not link {path}")
        elif anonymous.get(path).status_code != 200:
            problems.append(f"the city page links {path}, which anonymous visitors cannot open")
    for record in (hidden_engagement, hidden_agreement):
        if record.title in body:
            problems.append(f"the city page shows {record.title!r}")
    assert not problems, problems
