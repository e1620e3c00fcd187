from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.regions.services import RegionImportError, regions_import_csv


class Command(BaseCommand):
    help = "Import administrative divisions from a CSV file (code, name, level or parent)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options):
        try:
            result = regions_import_csv(text=path.read_text(encoding="utf-8-sig"))
        except RegionImportError as exc:
            raise CommandError("\n".join(exc.errors)) from None
        self.stdout.write(
            f"created {result.created}, updated {result.updated}, unchanged {result.unchanged}"
        )
