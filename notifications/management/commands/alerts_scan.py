"""Run the no-show alert scan now (what beat does every PARCOURS_ALERT_SCAN_SECONDS).

manage.py alerts_scan              # raise, escalate, resolve; e-mails go to the outbox
manage.py alerts_scan --dry-run    # only count what is due, per kind; writes nothing
manage.py alerts_scan --relay      # then send the outbox here, without a worker
"""

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from ...models import AlertKind
from ...selectors import referrals_due
from ...services.alerts import alerts_scan
from ...services.relay import outbox_relay


class Command(BaseCommand):
    help = "Détecte les orientations en souffrance et lève les alertes (e-mails via l'outbox)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="compter sans rien écrire")
        parser.add_argument("--relay", action="store_true", help="envoyer l'outbox ensuite")

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        if options["dry_run"]:
            for kind in AlertKind:
                due = sum(1 for _row in referrals_due(kind, now=now))
                self.stdout.write(f"{kind.label} : {due} orientation(s) à alerter")
            self.stdout.write("Simulation : rien n'a été écrit.")
            return
        report = alerts_scan(now=now)
        for kind in AlertKind:
            self.stdout.write(f"{kind.label} : {report.raised.get(kind, 0)} alerte(s) levée(s)")
        self.stdout.write(
            f"Escaladées : {report.escalated} ; résolues : {report.resolved} ; "
            f"e-mails mis en file : {report.messages}"
        )
        if options["relay"]:
            relayed = outbox_relay()
            self.stdout.write(
                f"Envoyés : {relayed.sent} ; à réessayer : {relayed.retried} ; "
                f"en échec : {relayed.failed} ; annulés : {relayed.cancelled}"
            )
