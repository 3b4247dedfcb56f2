"""STORAGE_URL names where uploads live; a wrong one stops the app at start with the reason."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from utilities.storage import storage_from_url


def test_no_url_keeps_files_under_media_root():
    assert storage_from_url("") == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_a_file_url_names_the_folder():
    assert storage_from_url("file:///srv/uploads")["OPTIONS"] == {"location": "/srv/uploads"}


def test_an_s3_url_names_bucket_prefix_and_endpoint():
    storage = storage_from_url("s3://uploads/diplomacy?endpoint_url=https://objects.example.gov&region_name=us-east-1")

    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert (options["bucket_name"], options["location"], options["endpoint_url"], options["region_name"]) == (
        "uploads",
        "diplomacy",
        "https://objects.example.gov",
        "us-east-1",
    )
    assert options["default_acl"] is None and options["querystring_auth"] is True


@pytest.mark.parametrize(
    "url, reason",
    [
        ("s3://?endpoint_url=https://x", "name the bucket"),
        ("s3://uploads?endpoint=https://x", "unknown option(s) endpoint"),
        ("ftp://files.example.gov/uploads", "unknown scheme 'ftp'"),
    ],
)
def test_a_wrong_url_says_what_is_wrong(url, reason):
    with pytest.raises(ImproperlyConfigured, match=reason.replace("(", r"\(").replace(")", r"\)")):
        storage_from_url(url)
