"""`manage.py adduser`: a user with their role, home cities and portfolio. It lives here rather
than in accounts because it reads city references, and accounts, the bottom domain layer, imports
no other app."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role
from accounts.services import save_user
from cities.references import CityReferenceError, CityResolver


class Command(BaseCommand):
    help = "Create or update a user with a role, home cities (staff) and a portfolio (liaisons)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--city", action="append", default=[], help="a city reference, e.g. 'Los Angeles, US-CA'")
        parser.add_argument("--portfolio", action="append", default=[], help="US-XX, or 'all'")
        parser.add_argument("--password")
        parser.add_argument("--email")

    def handle(self, *args, username, role, city, portfolio, password, email, **options):
        resolver = CityResolver()
        try:
            cities = [resolver.resolve(reference) for reference in city]
            user, created = save_user(
                username=username, role=role, cities=cities, portfolio=portfolio, password=password, email=email
            )
        except (CityReferenceError, ValidationError) as error:
            raise CommandError(_one_line(error)) from error
        self.stdout.write(f"{'Created' if created else 'Updated'} {role} {user.username}.")


def _one_line(error) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)
