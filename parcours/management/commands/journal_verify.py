"""Walk the access journal's hash chain and name the first broken row (exit code 1)."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from parcours.services.journal import journal_verify
from parcours.services.journal_integrity import journal_verification_record


class Command(BaseCommand):
    help = (
        "Vérifie la chaîne d'empreintes du journal des accès ; code de sortie 1 et la première "
        "ligne rompue en cas d'altération."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from-seq",
            type=int,
            default=None,
            help="Commencer à cette séquence (sa précédente doit exister).",
        )
        parser.add_argument("--chunk-size", type=int, default=2000)

    def handle(self, *args: Any, **options: Any) -> None:
        started_at = timezone.now()
        report = journal_verify(from_seq=options["from_seq"], chunk_size=options["chunk_size"])
        if options["from_seq"] is None:  # a whole walk: kept for the DPO's integrity report
            journal_verification_record(
                report=report, started_at=started_at, triggered_by="commande journal_verify"
            )
        pending = f"{report.unsealed} ligne(s) pas encore scellée(s)."
        if not report.ok and report.broken_id is None:  # rows gone from the end: no row to name
            self.stdout.write(
                f"Journal altéré : {report.reason}. {report.checked} ligne(s) vérifiée(s). "
                f"{pending}"
            )
            sys.exit(1)
        if not report.ok:
            self.stdout.write(
                f"Rupture de la chaîne à la ligne n°{report.broken_id} "
                f"(séquence {report.broken_seq}) : {report.reason}. "
                f"{report.checked} ligne(s) vérifiée(s) avant elle. {pending}"
            )
            sys.exit(1)
        if report.last_id is None:
            self.stdout.write(f"Journal intègre : aucune ligne scellée à vérifier. {pending}")
            return
        checkpoint = (
            f"Conforme au dernier point de contrôle signé (séquence {report.checkpoint_seq}). "
            if report.checkpoint_seq is not None
            else "Aucun point de contrôle signé : les suppressions en fin de chaîne ne peuvent "
            "pas être détectées. "
        )
        self.stdout.write(
            f"Journal intègre : {report.checked} lignes vérifiées jusqu'à la ligne "
            f"n°{report.last_id} (séquence {report.last_seq}, empreinte {report.last_hash}). "
            f"{checkpoint}{pending}"
        )
