"""Seal every pending access-journal row into the hash chain (the beat task does it too)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from parcours.services.journal import journal_seal_all, journal_unsealed_count


class Command(BaseCommand):
    help = "Scelle dans la chaîne d'empreintes toutes les lignes du journal des accès en attente."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args: Any, **options: Any) -> None:
        sealed = journal_seal_all(batch_size=options["batch_size"])
        pending = journal_unsealed_count()
        self.stdout.write(f"{sealed} ligne(s) scellée(s) ; {pending} en attente.")
        if pending and not sealed:
            self.stdout.write("Un autre scellement est peut-être en cours : relancez plus tard.")
