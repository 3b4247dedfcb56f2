import time

from django.core.management.base import BaseCommand, CommandError

from benchmarks.scale import delete_scale_records, scale_models, scale_records, seed_scale
from utilities.sqlbulk import refresh_statistics


class Command(BaseCommand):
    help = (
        "Generate synthetic engagements and agreements (marked as demo data) for benchmarks: "
        "COPY on PostgreSQL, bulk_create elsewhere. Needs the reference data (seed_demo)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--engagements", type=int, required=True, help="How many engagements to generate.")
        parser.add_argument("--agreements", type=int, default=None, help="How many agreements (default: N / 10).")
        parser.add_argument("--seed", type=int, default=1, help="The same seed gives the same records.")
        parser.add_argument(
            "--replace", action="store_true", help="Delete the records of any earlier seed_scale run first."
        )

    def handle(self, *args, engagements, agreements, seed, replace, **options):
        agreements = engagements // 10 if agreements is None else agreements
        if engagements < 0 or agreements < 0:
            raise CommandError("--engagements and --agreements must not be negative.")
        started = time.monotonic()
        if replace:
            self.stdout.write(f"Removed {delete_scale_records():,} earlier generated records.")
        elif any(records.exists() for records in scale_records()):
            raise CommandError("Generated records from an earlier run are present; pass --replace to regenerate.")
        try:
            report = seed_scale(engagements=engagements, agreements=agreements, seed=seed)
        except ValueError as error:
            raise CommandError(str(error)) from error
        refresh_statistics(scale_models(), vacuum_loaded=True)
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.engagements:,} engagements, {report.agreements:,} agreements and "
                f"{report.relation_rows:,} relation rows written with {report.method} in {seconds:.1f} s."
            )
        )
