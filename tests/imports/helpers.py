from pathlib import Path

from django.core.files import File

from imports.services import create_job, run_job

CORPUS = Path(__file__).resolve().parent / "corpus"
COUNTS = ("total_rows", "created", "updated", "unchanged", "error_count")


def import_file(path: Path, *, owner, kind: str, dry_run: bool = False):
    """Upload and run a file to the end in this process, as a worker would."""
    with path.open("rb") as handle:
        job = create_job(owner=owner, upload=File(handle, name=path.name), kind=kind, dry_run=dry_run, enqueue=False)
    return run_job(job.pk)


def import_text(tmp_path: Path, name: str, text: str, **kwargs):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return import_file(path, **kwargs)


def report_of(job) -> dict:
    return {name: getattr(job, name) for name in COUNTS} | {"status": job.status}


def errors_of(job) -> list[tuple[int, str, str]]:
    return list(job.row_errors.order_by("row", "id").values_list("row", "column", "message"))
