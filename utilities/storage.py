"""Where uploaded files live, from one setting, `STORAGE_URL` (SPEC §8.5).

- empty (the default): files under MEDIA_ROOT (`var/media`), for one machine;
- `file:///srv/uploads`: files under that folder (a volume every process mounts);
- `s3://BUCKET?endpoint_url=https://...&region_name=...`: an S3-compatible object store that
  every web and worker host reaches. Credentials come from the usual AWS variables
  (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`); a path after the bucket is a key prefix.
"""

from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured

S3_OPTIONS = {"endpoint_url", "region_name", "signature_version", "addressing_style"}


def storage_from_url(url: str) -> dict:
    """The `STORAGES["default"]` entry `url` names."""
    if not url:
        # No location: FileSystemStorage follows MEDIA_ROOT, wherever settings put it.
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    parts = urlsplit(url)
    if parts.scheme == "file":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": parts.path}}
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ImproperlyConfigured("STORAGE_URL: name the bucket, e.g. s3://uploads?endpoint_url=https://...")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        unknown = sorted(set(query) - S3_OPTIONS)
        if unknown:
            raise ImproperlyConfigured(
                f"STORAGE_URL: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(S3_OPTIONS))}."
            )
        options = {
            "bucket_name": parts.netloc,
            "location": parts.path.strip("/"),
            # Uploads are private: they are read through the app, never by a public URL.
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            **query,
        }
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
    raise ImproperlyConfigured(f"STORAGE_URL: unknown scheme {parts.scheme!r}; use file:// or s3://.")
