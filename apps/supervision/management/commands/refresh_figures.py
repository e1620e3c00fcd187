import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from apps.supervision.summaries import default_since, figures_refresh


class Command(BaseCommand):
    help = (
        "Recompute the supervision dashboards' summary tables: the recent days "
        "(SUPERVISION_FIGURES_DAYS, default 120), from --since, or everything (--full)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="rebuild every day")
        parser.add_argument("--since", help="recompute from this day on (YYYY-MM-DD)")

    def handle(self, *args, full=False, since=None, **options):
        if full and since:
            raise CommandError("--full and --since exclude each other")
        try:
            start = None if full else (dt.date.fromisoformat(since) if since else default_since())
        except ValueError as exc:
            raise CommandError(f"--since: {exc}") from exc
        refresh = figures_refresh(since=start)
        self.stdout.write(
            f"{refresh.rows} rows from {refresh.since or 'the beginning'} in {refresh.seconds:.2f} s"
        )
