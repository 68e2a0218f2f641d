"""What the retention rules will make due within the coming days (default: a month).

    manage.py retention_forecast [--days 30] [--now ISO] [--max-ids 200]

Counts, then the pathway and person ids concerned (ids only, never a name). Reads only: it
changes nothing and is not journaled (it shows no personal data). See docs/retention.md.
"""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from django.utils import timezone

from parcours.categories import DataCategory
from parcours.retention_tasks import clock
from parcours.selectors.retention import retention_due


class Command(BaseCommand):
    help = (
        "Prévision : parcours à archiver, à anonymiser, données à effacer et lignes du journal à "
        "purger d'ici N jours (identifiants seulement)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30, help="Horizon en jours (30)")
        parser.add_argument("--now", help="Date de référence ISO 8601 (par défaut : maintenant)")
        parser.add_argument(
            "--max-ids", type=int, default=200, help="Identifiants affichés par rubrique (200)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] < 0:
            raise CommandError("--days doit être positif ou nul.")
        try:
            now = clock(options["now"])
        except ValueError as error:
            raise CommandError(f"Date invalide (--now) : {error}") from error
        self.max_ids = options["max_ids"]
        due = retention_due(now=now, horizon=dt.timedelta(days=options["days"]))
        self.stdout.write(
            f"Prévision de conservation du {timezone.localtime(now):%d/%m/%Y} au "
            f"{timezone.localtime(due.moment):%d/%m/%Y} ({options['days']} jours) :"
        )
        self._section(
            "Parcours à archiver",
            due.pathways_to_archive(),
            f"dernier contact avant le {timezone.localtime(due.archive_before):%d/%m/%Y}",
        )
        self._section(
            "Parcours à anonymiser",
            due.pathways_to_anonymise(),
            f"dernier contact avant le {timezone.localtime(due.anonymise_before):%d/%m/%Y}",
        )
        self._section(
            "Personnes à anonymiser",
            due.persons_to_anonymise(),
            "tous leurs parcours anonymisés",
            noun="personne",
        )
        for category, before in sorted(due.erase_before.items()):
            self._section(
                f"Effacement anticipé « {DataCategory(category).label} »",
                due.pathways_to_erase(category),
                f"dernier contact avant le {timezone.localtime(before):%d/%m/%Y}",
            )
        self.stdout.write(
            f"Journal des accès à purger : {due.journal_rows_to_purge()} ligne(s) scellée(s) "
            f"antérieure(s) au {timezone.localtime(due.journal_before):%d/%m/%Y}"
        )

    def _section(self, title: str, queryset: QuerySet, why: str, noun: str = "parcours") -> None:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        self.stdout.write(f"{title} : {len(ids)} ({why})")
        if ids:
            shown = ", ".join(str(i) for i in ids[: self.max_ids])
            more = len(ids) - self.max_ids
            suffix = f" … et {more} autre(s)" if more > 0 else ""
            self.stdout.write(f"  {noun} n° {shown}{suffix}")
