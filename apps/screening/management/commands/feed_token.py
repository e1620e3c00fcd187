"""Issue (or revoke) a department's API token: `manage.py feed_token <code>`.

The token is printed once; only its SHA-256 digest is kept, so a lost token is replaced
by issuing a new one (the old one stops working at once)."""

from django.core.management.base import BaseCommand, CommandError

from apps.screening.api import department_token_issue, department_token_revoke
from apps.screening.models import Department


class Command(BaseCommand):
    help = "Issue a new API token for a department (shown once), or revoke it."

    def add_arguments(self, parser):
        parser.add_argument("code", help="the department's code")
        parser.add_argument("--revoke", action="store_true", help="revoke the token")

    def handle(self, *args, code, revoke, **options):
        department = Department.objects.filter(code=code).first()
        if department is None:
            raise CommandError(f"no department with the code {code!r}")
        if revoke:
            department_token_revoke(department=department)
            self.stdout.write(f"The API token of {department} is revoked.")
            return
        token = department_token_issue(department=department)
        self.stdout.write(f"API token of {department} (shown once, keep it secret):")
        self.stdout.write(token)
