"""Send again the e-mails that failed for good (after an SMTP outage, a wrong setting fixed…)."""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from notifications.models import OutboxKind
from notifications.services.outbox_operations import outbox_failed_ids, outbox_resend


class Command(BaseCommand):
    help = (
        "Remet à envoyer les e-mails en échec définitif (tous, ou depuis une date, ou d'un type) ; "
        "--dry-run les compte sans rien changer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="Échecs constatés depuis ce jour (AAAA-MM-JJ)")
        parser.add_argument("--kind", choices=OutboxKind.values, help="Seulement ce type d'e-mail")
        parser.add_argument("--dry-run", action="store_true", help="Compter sans rien changer")

    def handle(self, *args: Any, **options: Any) -> None:
        since = None
        if options["since"]:
            try:
                day = dt.date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError(
                    f"Date invalide : « {options['since']} » (format attendu : AAAA-MM-JJ)."
                ) from None
            since = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        ids = outbox_failed_ids(since=since, kind=options["kind"])
        if options["dry_run"]:
            self.stdout.write(f"{len(ids)} e-mail(s) en échec seraient remis à envoyer.")
            return
        count = outbox_resend(operator=None, message_ids=ids)
        self.stdout.write(
            f"{count} e-mail(s) remis à envoyer : le relais les enverra à son prochain passage."
        )
