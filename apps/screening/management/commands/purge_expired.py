from django.core.management.base import BaseCommand

from apps.screening.retention import purge_expired


class Command(BaseCommand):
    help = (
        "Remove what is past its retention: closed declarations not enrolled, SMS text, "
        "export files, expired sessions, old audit rows (the RETENTION_* settings). "
        "Audited; one run at a time."
    )

    def handle(self, *args, **options):
        counts = purge_expired()
        if counts is None:  # logged too; not an error for the scheduler
            self.stderr.write("Another purge is running: nothing done.")
            return
        self.stdout.write(", ".join(f"{kind}: {n}" for kind, n in counts.items()))
