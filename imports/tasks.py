"""Celery tasks of imports: they take ids, and the services decide whether there is work to do."""

from celery import shared_task

from . import services

# A million rows take minutes, not hours; the limit only stops a job that hangs.
IMPORT_TIME_LIMIT = 6 * 60 * 60


@shared_task(
    name="imports.run_import", acks_late=True, soft_time_limit=IMPORT_TIME_LIMIT, time_limit=IMPORT_TIME_LIMIT + 60
)
def run_import(job_id: int) -> None:
    """Run (or resume) one import. Safe to deliver twice: only one worker can claim the job."""
    services.run_job(job_id)


@shared_task(name="imports.resume_stalled_imports", acks_late=True)
def resume_stalled_imports(stale_after_seconds: float | None = None) -> list[int]:
    """The beat entry: resume imports whose worker stopped sending heartbeats."""
    return services.resume_stalled_jobs(stale_after=stale_after_seconds)
