"""`manage.py seed_demo`: the demo data of `make run` (apps/demo/seed.py). Idempotent;
refuses to run outside demo mode, since it creates logins with a known password."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.regions.models import Region

from ...seed import DEMO_PASSWORD, WOGOU, seed


class Command(BaseCommand):
    help = "Load the demo province, its staff logins and cases at every stage (demo mode only)."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError(
                "seed_demo runs only with DEMO_MODE on; it creates logins with a known password."
            )
        seeded = seed()
        village = Region.objects.get(code=WOGOU)
        base = settings.PUBLIC_BASE_URL.rstrip("/")
        logins = [
            ("province, city-dingxi", "dashboards, named overdue lists, bulletins"),
            ("county-anding", "the county's approval queue (in the admin)"),
            ("township-lujiagou", "the township's review queue and an appeal"),
            (f"grid-{WOGOU}", f"{village.name}'s cases, a warning, help plans"),
            ("dept-yibao, dept-minzheng", "department data"),
            ("sysadmin, secadmin, auditor", "the system, security and audit administrators"),
            ("admin", "the superuser (installation only; every use is audited)"),
        ]
        self.stdout.write(
            f"Demo data: {seeded.declarations} declarations, {seeded.households} monitored"
            f" households, {seeded.logins} logins.\n\n"
        )
        self.stdout.write(self.style.SUCCESS(f"一键申报 demo: {base}/"))
        self.stdout.write(f"  Farmer's form of {village.name}: {base}/v/{village.public_slug}/")
        self.stdout.write(f"  Staff sign-in: {base}/accounts/login/, password {DEMO_PASSWORD}:")
        for login, what in logins:
            self.stdout.write(f"    {login.ljust(27)}{what}")
