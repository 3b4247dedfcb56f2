"""Uploads in S3-compatible object storage (STORAGE_URL=s3://...), so several web and worker hosts
share them: a file uploaded by the web process is read by a worker that shares no folder with it.
The object store is a real S3 server (moto's, on a local port)."""

import socket

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from engagements.models import Engagement
from imports.models import ImportJob
from imports.services import create_job
from utilities.storage import storage_from_url

pytestmark = [pytest.mark.postgres, pytest.mark.worker]

BUCKET = "diplomacy-uploads"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret"}
FILE = (
    "external_id,city,title,kind,status,start_date\n"
    'S3-1,"Los Angeles, US-CA",Harbour visit,inbound_delegation,completed,2026-03-01\n'
    'S3-2,"Los Angeles, US-CA",Port forum,conference,completed,2026-03-02\n'
)


@pytest.fixture
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_an_upload_saved_by_the_web_process_is_imported_by_a_worker_elsewhere(
    live_worker, s3_endpoint, city_a, staff_a, settings, tmp_path, monkeypatch
):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    url = f"s3://{BUCKET}/imports?endpoint_url={s3_endpoint}&region_name=us-east-1"
    # The web process (this one) and the worker each have a folder of their own.
    web_dir, worker_dir = tmp_path / "web", tmp_path / "worker"
    for folder in (web_dir, worker_dir):
        (folder / "media").mkdir(parents=True)
    monkeypatch.chdir(web_dir)
    settings.MEDIA_ROOT = web_dir / "media"
    settings.STORAGES = {**settings.STORAGES, "default": storage_from_url(url)}
    live_worker.stop_all()
    live_worker.env.update(STORAGE_URL=url, TEST_MEDIA_ROOT=str(worker_dir / "media"), **CREDENTIALS)
    live_worker.cwd = worker_dir
    live_worker.start()

    job = create_job(
        owner=staff_a, upload=SimpleUploadedFile("visits.csv", FILE.encode(), "text/csv"), kind="engagements"
    )
    finished = live_worker.wait_until(
        lambda: ImportJob.objects.filter(pk=job.pk, status__in=["succeeded", "failed"]).first(),
        timeout=60,
        what="the worker to run the import",
    )

    assert (finished.status, finished.created, finished.error_count) == ("succeeded", 2, 0), finished.message
    assert set(Engagement.objects.values_list("external_id", flat=True)) == {"S3-1", "S3-2"}
    stored = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert stored == [f"imports/{finished.file.name}"]
    left_on_disk = [path for folder in (web_dir, worker_dir) for path in folder.rglob("*") if path.is_file()]
    assert left_on_disk == [], "nothing passes through a local folder"
