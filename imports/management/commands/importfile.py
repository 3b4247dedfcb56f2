"""`manage.py importfile KIND PATH [--dry-run] [--as USERNAME]`: the same import as an upload, in
the foreground, with a progress bar on stderr and the report as one JSON object on stdout's last line.

Exit status: 0 when the job ran to the end (rejected rows are listed in the report), 1 with a
one-line reason when the input cannot be imported at all.
"""

import json
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import User
from imports.kinds import KINDS
from imports.models import ImportJob
from imports.services import create_job, run_job


class Command(BaseCommand):
    help = "Import a CSV, XLSX or JSON file of cities, organizations, memberships, agreements or engagements."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=list(KINDS))
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument("--as", dest="username", help="Import in this user's name (default: the first admin).")

    def handle(self, *args, kind, path, dry_run, username, **options):
        source = Path(path)
        if not source.is_file():
            raise CommandError(f"No such file: {path}")
        actor = self._actor(username)
        with source.open("rb") as handle:
            try:
                job = create_job(
                    owner=actor, upload=File(handle, name=source.name), kind=kind, dry_run=dry_run, enqueue=False
                )
            except ValidationError as error:
                raise CommandError(" ".join(m for ms in error.message_dict.values() for m in ms)) from error
            except PermissionDenied as error:
                raise CommandError(str(error) or f"{actor.username} may not import files.") from error

        bar = tqdm(total=0, unit="rows", desc=f"{kind} {source.name}", file=self.stderr._out, dynamic_ncols=True)

        def progress(current: ImportJob) -> None:
            if current.total_rows is not None and bar.total != current.total_rows:
                bar.total = current.total_rows
                bar.refresh()
            bar.update(current.processed_rows - bar.n)

        try:
            job = run_job(job.pk, progress=progress)
        finally:
            bar.close()
        report = job.report()
        report["errors"] = [error.as_dict() for error in job.row_errors.order_by("row", "id")]
        self.stdout.write(json.dumps(report, ensure_ascii=False))
        if job.status != ImportJob.Status.SUCCEEDED:
            raise CommandError(job.message or f"The import ended {job.status}.")

    def _actor(self, username: str | None) -> User:
        if username:
            actor = User.objects.filter(username=username, is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user is called {username}.")
            return actor
        actor = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if actor is None:
            raise CommandError("No administrator exists: name the importing user with --as USERNAME.")
        return actor
