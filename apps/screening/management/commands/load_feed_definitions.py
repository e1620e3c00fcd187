"""Create or update feed definitions from a JSON file (the format of
apps/screening/feeds/definitions: one definition or a list of them)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.audit.models import Action
from apps.audit.services import record
from apps.screening.feeds.definitions import definitions_load


class Command(BaseCommand):
    help = "Create or update feed definitions from a JSON file."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path, **options):
        try:
            definitions = definitions_load(path)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        except ValidationError as exc:
            raise CommandError(f"{path}: " + "; ".join(exc.messages)) from exc
        for definition in definitions:
            record(Action.ADMIN_CHANGE, actor_name="manage.py", target=definition, source=path)
            self.stdout.write(f"{definition.code}: {definition.name}")
