from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import issue_token


class Command(BaseCommand):
    help = "Issue a new API token for a user and print it (alone, on the last line). It is shown only once."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named “{username}”.")
        key = issue_token(user=user)
        self.stderr.write(f"Token for {user.username} (store it now: it cannot be shown again):")
        self.stdout.write(key)
