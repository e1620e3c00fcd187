"""Run the data-quality rules now: `manage.py quality_run [--region CODE] [--rule R …]`."""

from django.core.management.base import BaseCommand, CommandError

from apps.core.locks import exclusive
from apps.quality.models import Rule
from apps.quality.services import run_rules
from apps.quality.tasks import LOCK
from apps.regions.models import Region


class Command(BaseCommand):
    help = "Run the data-quality rules over the stored data and update the items."

    def add_arguments(self, parser):
        parser.add_argument("--region", default="", help="12-digit code; all regions if omitted")
        parser.add_argument("--rule", action="append", choices=Rule.values, dest="rules")

    def handle(self, *args, region, rules, **options):
        scope = ""
        if region:
            found = Region.objects.filter(code=region).first()
            if found is None:
                raise CommandError(f"No region with code {region}.")
            scope = found.prefix
        run = exclusive(LOCK)(run_rules)(rules=rules, scope=scope)
        if run is None:
            raise CommandError("Another data-quality run is under way.")
        for rule, counts in run.counts.items():
            self.stdout.write(
                f"{rule}: {counts['raised']} raised, {counts['seen']} still open, "
                f"{counts['fixed']} fixed"
            )
