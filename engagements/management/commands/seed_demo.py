import time

from django.core.management.base import BaseCommand

from cities.reference_data import load_reference
from cities.references import CityResolver
from engagements.demo import DEMO_PASSWORD, seed_records


class Command(BaseCommand):
    help = "load_reference, then the demo records and sign-ins (safe to run again: it changes nothing then)."

    def handle(self, *args, **options):
        started = time.monotonic()
        load_reference(self.stdout.write)
        users = seed_records(CityResolver())
        usernames = ", ".join(user.username for user in users.values())
        self.stdout.write(f"Demo sign-ins (password “{DEMO_PASSWORD}”): {usernames}")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {time.monotonic() - started:.1f} s."))
