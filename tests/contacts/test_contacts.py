"""The contact directory (SPEC §8.4): kept by each home city's staff, read by internal readers only,
likely duplicates pointed out, participants linked to contacts, and a contact's page listing the
engagements with them that its reader may see."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from contacts.models import Contact
from contacts.services import LikelyDuplicate, save_contact
from engagements.services import save_engagement
from engagements.write_path import write_path
from tests import factories


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def api(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def consul(city_a, staff_a, foreign_city):
    return save_contact(
        actor=staff_a,
        data={
            "home_city": city_a,
            "name": "Keiko Tanaka",
            "title": "Consul General",
            "organization": "Consulate-General of Japan",
            "city": foreign_city,
            "email": "k.tanaka@example.jp",
        },
    )


def test_a_contact_takes_its_country_from_its_city(consul):
    assert consul.country_id == "JP"


def test_a_likely_duplicate_is_pointed_out_until_confirmed(consul, city_a, city_b, staff_a, staff_b):
    data = {"home_city": city_a, "name": "  keiko  TANAKA ", "organization": "Consulate-General of Japan."}
    with pytest.raises(LikelyDuplicate) as refused:
        save_contact(actor=staff_a, data=data)
    assert refused.value.duplicates == [consul]
    assert Contact.objects.count() == 1
    save_contact(actor=staff_a, data=data, confirm_duplicate=True)
    # Another city's directory is its own.
    save_contact(actor=staff_b, data={**data, "home_city": city_b})
    assert Contact.objects.count() == 3


def test_the_create_page_shows_the_likely_duplicates_and_lets_the_user_confirm(consul, city_a, staff_a):
    client = signed_in(staff_a)
    form = {"home_city": city_a.pk, "name": "Keiko Tanaka", "organization": "Consulate-General of Japan"}
    response = client.post("/contacts/new/", form)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Likely the same person" in body and f"/contacts/{consul.pk}/" in body
    assert Contact.objects.count() == 1
    response = client.post("/contacts/new/", {**form, "confirm_duplicate": "on"})
    assert response.status_code == 302
    assert Contact.objects.count() == 2


def test_only_the_home_citys_staff_and_admins_edit_a_contact(consul, staff_b, liaison, admin_user):
    assert signed_in(staff_b).get(f"/contacts/{consul.pk}/edit/").status_code == 403
    assert signed_in(liaison).get(f"/contacts/{consul.pk}/edit/").status_code == 403
    assert signed_in(admin_user).get(f"/contacts/{consul.pk}/edit/").status_code == 200
    response = signed_in(staff_b).post(f"/contacts/{consul.pk}/edit/", {"name": "Changed"})
    assert response.status_code == 403
    consul.refresh_from_db()
    assert consul.name == "Keiko Tanaka"


def test_partners_and_the_public_never_read_a_contact(consul, partner):
    assert signed_in(partner).get("/contacts/").status_code == 403
    assert signed_in(partner).get(f"/contacts/{consul.pk}/").status_code == 404
    assert signed_in(partner).get("/contacts/search/?q=Keiko").status_code == 403
    assert Client().get(f"/contacts/{consul.pk}/").status_code == 302
    assert api(partner).get("/api/v1/contacts/").json()["count"] == 0
    assert api(partner).get(f"/api/v1/contacts/{consul.pk}/").status_code == 404
    export = api(partner).get("/api/v1/contacts/?format=csv")
    assert b"".join(export.streaming_content).decode("utf-8-sig").strip().count("\n") == 0  # the header only
    assert api(None).get("/api/v1/contacts/").status_code == 401


def test_every_internal_reader_reads_the_directory(consul, staff_b, liaison):
    for user in (staff_b, liaison):
        assert "Keiko Tanaka" in signed_in(user).get("/contacts/?q=tanaka").content.decode()
        assert api(user).get(f"/api/v1/contacts/{consul.pk}/").json()["name"] == "Keiko Tanaka"


def test_the_api_creates_patches_and_refuses_duplicates(consul, city_a, staff_a):
    body = {"home_city": city_a.pk, "name": "Keiko Tanaka", "organization": "Consulate-General of Japan"}
    refused = api(staff_a).post("/api/v1/contacts/", body, format="json")
    assert refused.status_code == 400 and "already have this name and organisation" in refused.json()["name"][0]
    created = api(staff_a).post("/api/v1/contacts/", {**body, "confirm_duplicate": True}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["home_city_name"] == city_a.label and "confirm_duplicate" not in created.json()
    patched = api(staff_a).patch(f"/api/v1/contacts/{consul.pk}/", {"languages": "Japanese, English"}, format="json")
    assert patched.status_code == 200 and patched.json()["languages"] == "Japanese, English"
    assert patched.json()["version"] == 2


def test_the_contact_list_reads_a_constant_number_of_queries(city_a, staff_a, liaison):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert signed_in(liaison).get("/contacts/").status_code == 200
        return len(captured)

    save_contact(actor=staff_a, data={"home_city": city_a, "name": "One"})
    few = queries()
    for index in range(12):
        save_contact(actor=staff_a, data={"home_city": city_a, "name": f"Person {index}", "organization": "Org"})
    assert queries() == few


# --- participants and the engagements with a contact ---------------------------------------------


def test_a_contacts_page_lists_the_engagements_with_them_that_the_reader_may_see(consul, city_a, staff_a, staff_b):
    titles = {}
    with write_path():
        for visibility in ("internal", "restricted"):
            engagement = factories.EngagementFactory(city=city_a, visibility=visibility, title=f"Talks ({visibility})")
            engagement.participants.create(name="Keiko Tanaka", side="counterpart", contact=consul)
            titles[visibility] = engagement.title
    own = signed_in(staff_a).get(f"/contacts/{consul.pk}/").content.decode()
    other = signed_in(staff_b).get(f"/contacts/{consul.pk}/").content.decode()
    assert titles["internal"] in own and titles["restricted"] in own
    assert titles["internal"] in other and titles["restricted"] not in other


def engagement_form(city, **participant):
    data = {
        "city": city.pk,
        "title": "Harbour talks",
        "kind": "bilateral_meeting",
        "status": "planned",
        "start_date": "2026-09-01",
        "visibility": "internal",
        "participants-TOTAL_FORMS": "1",
        "participants-INITIAL_FORMS": "0",
        "participants-MIN_NUM_FORMS": "0",
        "participants-MAX_NUM_FORMS": "200",
        "participants-0-side": "counterpart",
    }
    data.update({f"participants-0-{key}": value for key, value in participant.items()})
    return data


def test_a_participant_picked_from_the_contacts_is_linked_and_filled_in(consul, city_a, staff_a):
    response = signed_in(staff_a).post("/engagements/new/", engagement_form(city_a, contact=str(consul.pk)))
    assert response.status_code == 302, response.content.decode()[:2000]
    participant = consul.participants.get()
    assert (participant.name, participant.title, participant.organization) == (
        "Keiko Tanaka",
        "Consul General",
        "Consulate-General of Japan",
    )


def test_a_participant_added_to_the_contacts_inline_becomes_a_linked_contact(city_a, staff_a):
    response = signed_in(staff_a).post(
        "/engagements/new/",
        engagement_form(city_a, name="Hans Weber", organization="Goethe-Institut", add_contact="on"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    contact = Contact.objects.get()
    assert (contact.name, contact.organization, contact.home_city) == ("Hans Weber", "Goethe-Institut", city_a)
    assert contact.participants.get().engagement.title == "Harbour talks"


def test_adding_someone_already_in_the_contacts_links_the_existing_one(consul, city_a, staff_a):
    response = signed_in(staff_a).post(
        "/engagements/new/",
        engagement_form(city_a, name="Keiko Tanaka", organization="Consulate-General of Japan", add_contact="on"),
        follow=True,
    )
    assert "was already in the contacts" in response.content.decode()
    assert Contact.objects.count() == 1 and consul.participants.count() == 1


def test_the_contact_type_ahead_answers_a_formset_rows_picker(consul, staff_a):
    response = signed_in(staff_a).get("/contacts/search/", {"participants-3-contact_query": "tanaka"})
    body = response.content.decode()
    assert f'data-id="{consul.pk}"' in body and 'id="id_participants-3-contact_listbox-opt-' in body


def test_participants_in_the_api_carry_their_contact_for_internal_readers_only(consul, city_a, staff_a, partner):
    with write_path():
        engagement = save_engagement(
            actor=staff_a,
            data={
                "city": city_a,
                "title": "Public talks",
                "kind": "conference",
                "status": "planned",
                "start_date": "2026-09-01",
                "visibility": "public",
                "participants": [{"name": "Keiko Tanaka", "side": "counterpart", "contact": consul}],
            },
        )
    detail = api(staff_a).get(f"/api/v1/engagements/{engagement.pk}/").json()
    assert detail["participants"][0]["contact"] == consul.pk
    assert detail["participants"][0]["contact_name"] == "Keiko Tanaka"
    listed = api(staff_a).get("/api/v1/engagements/").json()["results"][0]
    assert listed["participants"] == detail["participants"]
    for body in (
        api(partner).get(f"/api/v1/engagements/{engagement.pk}/").content,
        api(partner).get("/api/v1/engagements/").content,
    ):
        assert b"Keiko" not in body and b"contact" not in body


def test_the_contact_api_list_reads_a_constant_number_of_queries(city_a, staff_a, liaison, foreign_city):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert api(liaison).get("/api/v1/contacts/").status_code == 200
        return len(captured)

    save_contact(actor=staff_a, data={"home_city": city_a, "name": "One", "city": foreign_city})
    few = queries()
    for index in range(10):
        save_contact(actor=staff_a, data={"home_city": city_a, "name": f"Person {index}", "city": foreign_city})
    assert queries() == few


def test_the_api_links_a_participant_to_a_contact_by_id(consul, city_a, staff_a):
    body = {
        "city": city_a.pk,
        "title": "Port forum",
        "kind": "conference",
        "status": "planned",
        "start_date": "2026-10-01",
        "participants": [{"name": "K. Tanaka", "side": "counterpart", "contact": consul.pk}],
    }
    created = api(staff_a).post("/api/v1/engagements/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["participants"][0] == {
        "name": "K. Tanaka",
        "title": "",
        "organization": "",
        "side": "counterpart",
        "contact": consul.pk,
        "contact_name": "Keiko Tanaka",
    }
    missing = api(staff_a).post(
        "/api/v1/engagements/", {**body, "participants": [{"name": "X", "contact": 987654}]}, format="json"
    )
    assert missing.status_code == 400 and "contact" in str(missing.json()["participants"])


def test_nul_in_the_contact_type_ahead_and_filters_is_never_a_500(consul, staff_a):
    client = signed_in(staff_a)
    assert client.get("/contacts/search/?q=%00").status_code == 200
    assert client.get("/contacts/search/?participants-0-contact_query=Kei%00ko").status_code == 200
    assert client.get("/contacts/?q=Kei%00ko").status_code == 200
    assert api(staff_a).get("/api/v1/contacts/?q=Kei%00ko").status_code == 400
