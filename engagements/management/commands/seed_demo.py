import time

from django.core.management.base import BaseCommand

from cities.reference_data import load_cities, load_countries, load_networks, load_topics
from cities.references import CityResolver
from engagements.demo import DEMO_PASSWORD, seed_records


class Command(BaseCommand):
    help = "Load the reference data and the demo records (safe to run again: it changes nothing then)."

    def handle(self, *args, **options):
        started = time.monotonic()
        self.stdout.write(f"Countries: {load_countries()}")
        self.stdout.write(f"Topics: {load_topics()}")
        self.stdout.write(f"Cities: {load_cities()}")
        resolver = CityResolver()
        self.stdout.write(f"Networks: {load_networks(resolver)}")
        users = seed_records(resolver)
        usernames = ", ".join(user.username for user in users.values())
        self.stdout.write(f"Demo sign-ins (password “{DEMO_PASSWORD}”): {usernames}")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {time.monotonic() - started:.1f} s."))
