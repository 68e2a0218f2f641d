"""The access report of one person, as CSV or PDF (issue 7; the DPO pages come next).

    manage.py access_report --person 42 --from 2026-01-01 --to 2026-12-31 \\
        [--audience internal|person] [--by dpo.username] [--format csv|pdf] \\
        [--output rapport.csv]

A PDF needs `--output` (binary, never to the terminal).

`--audience person` (the version for the person) hides staff names (GDPR art. 15, CJEU
C-579/21). The generation is journaled.
"""

import datetime as dt
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...dates import report_period
from ...exports.access_report import access_report_pdf
from ...models import Person
from ...selectors.access_reports import VERSIONS, write_csv
from ...services.access_reports import access_report_generate


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Date invalide « {value} » : attendu AAAA-MM-JJ.") from exc


class Command(BaseCommand):
    help = "Rapport des accès aux données d'une personne (CSV ou PDF), journalisé."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--person", type=int, required=True)
        parser.add_argument("--from", dest="start", default=None, help="AAAA-MM-JJ (inclus)")
        parser.add_argument("--to", dest="end", default=None, help="AAAA-MM-JJ (inclus)")
        # Not --version: Django's commands already answer that one.
        parser.add_argument("--audience", choices=VERSIONS, default="internal")
        parser.add_argument("--by", default=None, help="identifiant de l'utilisateur demandeur")
        parser.add_argument("--format", dest="file_format", choices=("csv", "pdf"), default="csv")
        parser.add_argument(
            "--output", default=None, help="fichier (sinon la sortie, en CSV seulement)"
        )

    def handle(self, *args, **options) -> None:
        if not Person.objects.filter(pk=options["person"]).exists():
            raise CommandError(f"Personne n°{options['person']} introuvable.")
        if options["file_format"] == "pdf" and not options["output"]:
            raise CommandError("Le format PDF demande un fichier : précisez --output.")
        try:
            period = report_period(
                _day(options["start"]) if options["start"] else None,
                _day(options["end"]) if options["end"] else None,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        user = None
        if options["by"]:
            user = get_user_model().objects.filter(username=options["by"]).first()
            if user is None:
                raise CommandError(f"Utilisateur « {options['by']} » introuvable.")
        report = access_report_generate(
            person_id=options["person"],
            start=period.start,
            end=period.end,
            version=options["audience"],
            user=user,
        )
        if options["file_format"] == "pdf":
            with open(options["output"], "wb") as binary:
                binary.write(access_report_pdf(report))
        elif options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as stream:
                write_csv(report, stream)
        else:
            write_csv(report, sys.stdout)
        totals = ", ".join(f"{org} : {n}" for org, n in report.totals_by_organisation.items())
        self.stderr.write(
            f"{len(report.rows)} accès du {period.first_day:%d/%m/%Y} au {period.last_day:%d/%m/%Y}"
            + (f" — {totals}" if totals else "")
        )
