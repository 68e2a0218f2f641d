"""Recompute the managers' referral statistics now (the nightly task does it too)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from parcours.services.referral_figures import MONTHS_BACK, referral_figures_refresh


class Command(BaseCommand):
    help = "Recalcule les statistiques des orientations (tableau de bord des responsables)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--full",
            action="store_true",
            help="Recalcule tous les mois (sinon les mois récents "
            "et ceux des orientations modifiées depuis la dernière mise à jour).",
        )
        parser.add_argument("--months-back", type=int, default=MONTHS_BACK)

    def handle(self, *args: Any, **options: Any) -> None:
        report = referral_figures_refresh(full=options["full"], months_back=options["months_back"])
        self.stdout.write(
            f"{len(report.months)} mois recalculé(s), {report.cells} cellule(s) écrite(s)."
        )
