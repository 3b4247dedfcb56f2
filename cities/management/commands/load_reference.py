import time

from django.core.management.base import BaseCommand

from cities.reference_data import load_reference


class Command(BaseCommand):
    help = (
        "Load or update the reference data (countries, cities, topics, networks, compliance rules): "
        "what a production install runs. No demo record, no user; safe to run again."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        load_reference(self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"Reference data ready in {time.monotonic() - started:.1f} s."))
