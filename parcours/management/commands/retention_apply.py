"""Apply the retention rules now (what the daily beat job does), or simulate it.

    manage.py retention_apply [--dry-run] [--now 2028-06-01T03:30] [--batch-size 500]

A dry run changes nothing (no record, no journal row) and lists the counts a real run would
reach. See docs/retention.md.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from parcours.retention_tasks import clock
from parcours.services.retention import retention_apply


class Command(BaseCommand):
    help = (
        "Applique les durées de conservation : archivage, anonymisation, effacements anticipés, "
        "purge du journal des accès (--dry-run : simulation, rien n'est modifié)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Simulation : ne modifie rien")
        parser.add_argument("--now", help="Date de référence ISO 8601 (par défaut : maintenant)")
        parser.add_argument("--batch-size", type=int, default=500, help="Parcours par lot")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            now = clock(options["now"])
        except ValueError as error:
            raise CommandError(f"Date invalide (--now) : {error}") from error
        if options["batch_size"] < 1:
            raise CommandError("--batch-size doit être au moins 1.")
        mode = "Simulation" if options["dry_run"] else "Application"
        self.stdout.write(
            f"{mode} des durées de conservation au {timezone.localtime(now):%d/%m/%Y %H:%M}…"
        )
        report = retention_apply(
            now=now,
            dry_run=options["dry_run"],
            batch_size=options["batch_size"],
            progress=self.stdout.write,
        )
        for line in report.summary_lines():
            self.stdout.write(line)
