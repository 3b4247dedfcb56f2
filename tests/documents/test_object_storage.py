"""Documents in S3-compatible object storage (STORAGE_URL=s3://..., SPEC §8.5): an accepted file is
stored as an object and downloaded through the policy's view; a refused one leaves no object. The
object store is a real S3 server (moto's, on a local port)."""

import socket

import boto3
import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from documents.services import add_document
from tests import factories
from utilities.storage import storage_from_url

from . import samples

BUCKET = "diplomacy-documents"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret"}


@pytest.fixture
def bucket(settings, monkeypatch, tmp_path):
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        for name, value in CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        url = f"s3://{BUCKET}/uploads?endpoint_url={endpoint}&region_name=us-east-1"
        settings.STORAGES = {**settings.STORAGES, "default": storage_from_url(url)}
        yield lambda: sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))
    finally:
        server.stop()


def test_a_document_lives_in_the_object_store_and_a_refused_one_leaves_nothing(bucket, city_a, staff_a, uploads_in_tmp):
    record = factories.AgreementFactory(city=city_a, visibility="internal")
    with pytest.raises(ValidationError):
        add_document(actor=staff_a, record=record, upload=samples.upload("program.pdf", samples.ELF), kind="other")
    assert bucket() == []
    document = add_document(
        actor=staff_a, record=record, upload=samples.upload("treaty.pdf", samples.pdf()), kind="signed_text"
    )
    assert bucket() == [f"uploads/{document.file.name}"]
    with pytest.raises(ValidationError):
        add_document(actor=staff_a, record=record, upload=samples.upload("again.pdf", samples.pdf()), kind="other")
    assert bucket() == [f"uploads/{document.file.name}"]
    client = Client()
    client.force_login(staff_a)
    download = client.get(f"/documents/{document.pk}/file/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == samples.pdf()
    # Nothing passed through the local folder.
    assert not uploads_in_tmp.exists() or not any(path.is_file() for path in uploads_in_tmp.rglob("*"))
