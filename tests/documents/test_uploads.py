"""Documents on records (SPEC §8.4): what an upload accepts, what it refuses with a clear message,
and that a refused upload stores nothing, neither a row nor a file."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from rest_framework.test import APIClient

from documents.models import Document
from documents.services import add_document

from . import samples
from .conftest import stored_files

MB = 1024 * 1024

ACCEPTED = [
    ("treaty.pdf", samples.pdf, "application/pdf"),
    ("briefing.docx", samples.docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("budget.xlsx", samples.xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("photo.png", samples.png, "image/png"),
    ("photo.jpeg", samples.jpeg, "image/jpeg"),
    ("delegates.csv", lambda: "name,organisation\nZoë Müller,Stadt Zürich\n".encode(), "text/csv"),
    ("notes.txt", lambda: "Meeting notes — 北京, Kraków\n".encode(), "text/plain"),
]

REFUSED = [
    ("program.pdf", lambda: samples.ELF, "a Linux program"),
    ("setup.pdf", lambda: samples.PE, "a Windows program"),
    ("page.png", lambda: samples.HTML, "not PNG"),
    ("page.txt", lambda: samples.HTML, "web page markup"),
    ("big.pdf", lambda: samples.pdf() + b" " * (26 * MB), "limit"),
    ("empty.pdf", lambda: b"", "file is empty."),
    ("archive.docx", lambda: samples._zip({"a.txt": "x"}), "zip archive"),
    ("letter.docx", samples.pdf, "its content is PDF"),
    ("binary.csv", lambda: b"a,b\n\x00\x01\x02", "binary data"),
    ("latin1.txt", lambda: "Zürich".encode("latin-1"), "not UTF-8"),
    ("virus.exe", lambda: samples.PE, "“.exe” are not accepted"),
    ("noextension", samples.pdf, "no extension"),
]


@pytest.mark.parametrize(("name", "make", "mime"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_an_accepted_file_is_stored_with_its_type_size_and_digest(records, staff_a, uploads_in_tmp, name, make, mime):
    content = make()
    document = add_document(
        actor=staff_a, record=records["agreement-internal"], upload=samples.upload(name, content), kind="signed_text"
    )
    document.refresh_from_db()
    assert (document.content_type, document.size, document.original_name) == (mime, len(content), name)
    import hashlib

    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.uploaded_by == staff_a and document.title == name.rsplit(".", 1)[0]
    with document.file.open("rb") as handle:
        assert handle.read() == content
    # Stored under a name of its own, outside any static path.
    assert len(stored_files(uploads_in_tmp)) == 1 and name not in document.file.name


@pytest.mark.parametrize(("name", "make", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_refused_file_is_a_clear_error_and_nothing_is_stored(records, staff_a, uploads_in_tmp, name, make, message):
    with pytest.raises(ValidationError) as refused:
        add_document(
            actor=staff_a, record=records["engagement-internal"], upload=samples.upload(name, make()), kind="other"
        )
    assert any(message in text for text in refused.value.message_dict["file"]), refused.value.message_dict
    assert Document.objects.count() == 0
    assert stored_files(uploads_in_tmp) == []


def test_the_same_file_twice_on_one_record_is_refused_but_another_record_may_have_it(records, staff_a, uploads_in_tmp):
    content = samples.pdf("Signed")
    first = add_document(
        actor=staff_a, record=records["agreement-public"], upload=samples.upload("a.pdf", content), kind="signed_text"
    )
    with pytest.raises(ValidationError) as refused:
        add_document(
            actor=staff_a, record=records["agreement-public"], upload=samples.upload("copy.pdf", content), kind="other"
        )
    assert refused.value.message_dict["file"] == [f"This file is already attached to this record (“{first.title}”)."]
    add_document(
        actor=staff_a, record=records["engagement-public"], upload=samples.upload("a.pdf", content), kind="other"
    )
    assert Document.objects.count() == 2
    assert len(stored_files(uploads_in_tmp)) == 2


def test_only_the_record_citys_staff_and_admins_add_documents(
    records, staff_b, liaison, partner, admin_user, uploads_in_tmp
):
    record = records["engagement-public"]
    for user in (staff_b, liaison, partner):
        with pytest.raises(PermissionDenied):
            add_document(actor=user, record=record, upload=samples.upload("x.pdf", samples.pdf()), kind="other")
    assert stored_files(uploads_in_tmp) == []
    add_document(actor=admin_user, record=record, upload=samples.upload("x.pdf", samples.pdf()), kind="other")


# --- the record's page -------------------------------------------------------------------------


def signed_in(user, *, csrf=False):
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def test_the_engagement_page_offers_the_upload_form_to_its_citys_staff_only(records, staff_a, staff_b):
    record = records["engagement-internal"]
    own = signed_in(staff_a).get(f"/engagements/{record.pk}/").content.decode()
    other = signed_in(staff_b).get(f"/engagements/{record.pk}/").content.decode()
    assert 'enctype="multipart/form-data"' in own and f"/engagements/{record.pk}/documents/" in own
    assert 'id="documents"' in other and f"/engagements/{record.pk}/documents/" not in other


def test_an_upload_from_the_page_is_listed_and_downloads_as_an_attachment(records, staff_a, uploads_in_tmp):
    record = records["agreement-internal"]
    client = signed_in(staff_a, csrf=True)
    page = client.get(f"/agreements/{record.pk}/")
    token = page.cookies["csrftoken"].value
    response = client.post(
        f"/agreements/{record.pk}/documents/",
        {
            "file": samples.upload("resolution.pdf", samples.pdf()),
            "kind": "council_resolution",
            "title": "Resolution 2026-14",
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/agreements/{record.pk}/#documents"
    document = Document.objects.get()
    page = client.get(f"/agreements/{record.pk}/").content.decode()
    assert "Resolution 2026-14" in page and f"/documents/{document.pk}/file/" in page
    download = client.get(f"/documents/{document.pk}/file/")
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="resolution.pdf"'
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == samples.pdf()


def test_an_upload_without_the_csrf_token_is_refused(records, staff_a, uploads_in_tmp):
    record = records["agreement-internal"]
    response = signed_in(staff_a, csrf=True).post(
        f"/agreements/{record.pk}/documents/", {"file": samples.upload("a.pdf", samples.pdf()), "kind": "other"}
    )
    assert response.status_code == 403
    assert stored_files(uploads_in_tmp) == []


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [REFUSED[0], REFUSED[2], REFUSED[4], REFUSED[5]],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_refused_upload_from_the_page_says_why_and_stores_nothing(
    records, staff_a, uploads_in_tmp, name, make, message
):
    record = records["engagement-internal"]
    response = signed_in(staff_a).post(
        f"/engagements/{record.pk}/documents/", {"file": samples.upload(name, make()), "kind": "other"}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    if name == "big.pdf":
        assert "25 MB" in response.content.decode()
    assert Document.objects.count() == 0 and stored_files(uploads_in_tmp) == []


# --- the API ----------------------------------------------------------------------------------


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_takes_a_pdf_a_docx_and_a_png(records, staff_a, uploads_in_tmp):
    record = records["engagement-restricted"]
    for name, content in (("a.pdf", samples.pdf()), ("b.docx", samples.docx()), ("c.png", samples.png())):
        response = api(staff_a).post(
            "/api/v1/documents/",
            {
                "file": samples.upload(name, content),
                "record_type": "engagement",
                "record_id": record.pk,
                "kind": "briefing",
            },
            format="multipart",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["record_type"], body["record_id"], body["size"], body["original_name"]) == (
            "engagement",
            record.pk,
            len(content),
            name,
        )
        download = api(staff_a).get(f"/api/v1/documents/{body['id']}/file/")
        assert download.status_code == 200 and b"".join(download.streaming_content) == content
        assert download["Content-Disposition"].startswith("attachment;")
    assert len(stored_files(uploads_in_tmp)) == 3


@pytest.mark.parametrize(
    ("name", "make", "message"), [REFUSED[0], REFUSED[2], REFUSED[5]], ids=["elf-as-pdf", "html-as-png", "empty"]
)
def test_the_api_refuses_what_is_not_a_document_with_a_400(records, staff_a, uploads_in_tmp, name, make, message):
    response = api(staff_a).post(
        "/api/v1/documents/",
        {
            "file": samples.upload(name, make()),
            "record_type": "agreement",
            "record_id": records["agreement-public"].pk,
            "kind": "other",
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert any(message in text for text in response.json()["file"]), response.json()
    assert Document.objects.count() == 0 and stored_files(uploads_in_tmp) == []


def test_the_api_refuses_a_26_mb_file_with_a_400_before_reading_it(records, staff_a, uploads_in_tmp):
    response = api(staff_a).post(
        "/api/v1/documents/",
        {
            "file": samples.upload("big.pdf", samples.pdf() + b" " * (26 * MB)),
            "record_type": "agreement",
            "record_id": records["agreement-public"].pk,
            "kind": "other",
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"file": ["The file is larger than the limit of 25 MB."]}
    assert Document.objects.count() == 0 and stored_files(uploads_in_tmp) == []


def test_a_record_the_caller_cannot_see_is_no_record_to_upload_to(records, staff_b, uploads_in_tmp):
    response = api(staff_b).post(
        "/api/v1/documents/",
        {
            "file": samples.upload("a.pdf", samples.pdf()),
            "record_type": "engagement",
            "record_id": records["engagement-restricted"].pk,
            "kind": "other",
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"record_id": ["No engagement has this id."]}
    assert stored_files(uploads_in_tmp) == []


# --- who reads what -------------------------------------------------------------------------------


@pytest.fixture
def documents(records, staff_a, staff_b):
    made = {}
    for label, record in records.items():
        owner = staff_b if label.endswith("b-restricted") else staff_a
        for public in (True, False):
            made[(label, public)] = add_document(
                actor=owner,
                record=record,
                upload=samples.upload(f"{label}-{public}.png", samples.png(len(made))),
                kind="photo",
                is_public=public,
            )
    return made


def test_partners_and_the_public_read_only_public_documents_of_public_records(documents, partner, staff_a):
    public = {documents[("agreement-public", True)].pk, documents[("engagement-public", True)].pk}
    listed = {row["id"] for row in api(partner).get("/api/v1/documents/").json()["results"]}
    assert listed == public
    for (label, is_public), document in documents.items():
        expected = 200 if document.pk in public else 404
        assert api(partner).get(f"/api/v1/documents/{document.pk}/file/").status_code == expected, (label, is_public)
        anonymous = Client().get(f"/documents/{document.pk}/file/")
        if document.pk in public:
            assert anonymous.status_code == 200
        else:
            assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    # Who uploaded it is people's data.
    assert all(row["uploaded_by"] is None for row in api(partner).get("/api/v1/documents/").json()["results"])
    agreement_id = documents[("agreement-public", True)].agreement_id
    own = api(staff_a).get("/api/v1/documents/", {"agreement": agreement_id}).json()["results"]
    assert len(own) == 2 and all(row["uploaded_by"] == staff_a.pk for row in own)


def test_a_restricted_records_document_is_404_to_other_cities_staff_everywhere(documents, staff_a, staff_b):
    document = documents[("engagement-restricted", True)]
    record = document.engagement
    assert signed_in(staff_b).get(f"/engagements/{record.pk}/").status_code == 404
    assert signed_in(staff_b).get(f"/documents/{document.pk}/file/").status_code == 404
    assert api(staff_b).get(f"/api/v1/documents/{document.pk}/").status_code == 404
    hidden = api(staff_b).get(f"/api/v1/documents/{document.pk}/file/", {"format": "file"})
    assert hidden.status_code == 404
    assert hidden["Content-Type"] == "application/json"  # errors answer as the rest of the API does
    assert document.pk not in {row["id"] for row in api(staff_b).get("/api/v1/documents/").json()["results"]}
    # ... and there for their own city's staff.
    assert signed_in(staff_a).get(f"/documents/{document.pk}/file/").status_code == 200
    assert api(staff_a).get(f"/api/v1/documents/{document.pk}/file/").status_code == 200


def test_internal_readers_read_internal_records_documents_public_or_not(documents, staff_b, liaison):
    for user in (staff_b, liaison):
        for public in (True, False):
            document = documents[("agreement-internal", public)]
            assert signed_in(user).get(f"/documents/{document.pk}/file/").status_code == 200


def test_the_record_page_lists_only_the_documents_its_reader_may_see(documents):
    record = documents[("engagement-public", True)].engagement
    page = Client().get(f"/engagements/{record.pk}/").content.decode()
    assert documents[("engagement-public", True)].title in page
    assert documents[("engagement-public", False)].title not in page
    assert f"/documents/{documents[('engagement-public', False)].pk}/file/" not in page


def test_removing_a_document_deletes_its_file(
    documents, staff_a, staff_b, uploads_in_tmp, django_capture_on_commit_callbacks
):
    document = documents[("agreement-internal", False)]
    before = len(stored_files(uploads_in_tmp))
    assert signed_in(staff_b).post(f"/documents/{document.pk}/delete/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(staff_a).post(f"/documents/{document.pk}/delete/")
    assert response.status_code == 302
    assert not Document.objects.filter(pk=document.pk).exists()
    assert len(stored_files(uploads_in_tmp)) == before - 1


def test_stored_files_are_never_served_from_a_public_path(documents):
    document = documents[("agreement-public", True)]
    assert Client().get(f"/media/{document.file.name}").status_code == 404
    assert Client().get(f"/static/{document.file.name}").status_code == 404


def test_the_document_list_reads_a_constant_number_of_queries(records, staff_a, liaison):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert api(liaison).get("/api/v1/documents/").status_code == 200
        return len(captured)

    add_document(
        actor=staff_a, record=records["agreement-public"], upload=samples.upload("a.png", samples.png(1)), kind="photo"
    )
    few = queries()
    for index in range(2, 12):
        add_document(
            actor=staff_a,
            record=records["engagement-internal"],
            upload=samples.upload("b.png", samples.png(index)),
            kind="photo",
        )
    assert queries() == few


def test_deleting_a_record_deletes_its_documents_files(
    records, staff_a, uploads_in_tmp, django_capture_on_commit_callbacks
):
    from engagements.services import delete_city_record

    record = records["engagement-internal"]
    add_document(actor=staff_a, record=record, upload=samples.upload("a.pdf", samples.pdf()), kind="other")
    assert len(stored_files(uploads_in_tmp)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        delete_city_record(actor=staff_a, record=record)
    assert Document.objects.count() == 0
    assert stored_files(uploads_in_tmp) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"record_type": "city", "record_id": "1", "kind": "other"},
        {"record_type": "engagement", "record_id": "99999999999999999999999", "kind": "other"},
        {"record_type": "engagement", "record_id": "1", "kind": "selfie"},
        {"record_type": "engagement", "record_id": "1", "kind": "other", "title": "a\x00b"},
        {"record_type": "engagement", "record_id": "1", "kind": "other", "owner": "me"},
    ],
)
def test_a_malformed_upload_is_a_400_that_stores_nothing(records, staff_a, uploads_in_tmp, fields):
    fields = {**fields, "record_id": fields["record_id"].replace("1", str(records["engagement-internal"].pk), 1)}
    response = api(staff_a).post(
        "/api/v1/documents/", {"file": samples.upload("a.pdf", samples.pdf()), **fields}, format="multipart"
    )
    assert response.status_code == 400, response.content
    assert Document.objects.count() == 0 and stored_files(uploads_in_tmp) == []
