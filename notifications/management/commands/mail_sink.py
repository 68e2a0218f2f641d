"""A local SMTP server for development: every e-mail the app sends is written as an .eml file.

    manage.py mail_sink --port 1025 --directory var/mail

`make run` starts it and points EMAIL_URL at it; open the .eml files with any mail client (or
read them as text). Never use it in production: it accepts everything and delivers nothing.
"""

import email
import email.policy
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Serveur SMTP local de développement : enregistre chaque e-mail reçu en fichier .eml."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=1025)
        parser.add_argument("--directory", default="var/mail")

    def handle(self, *args, **options) -> None:
        try:
            from aiosmtpd.controller import Controller
        except ImportError as exc:  # a production install (no development dependencies)
            raise CommandError(
                "aiosmtpd n'est pas installé (dépendance de développement)."
            ) from exc
        directory = Path(options["directory"])
        directory.mkdir(parents=True, exist_ok=True)
        write = self.stdout.write

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                stamp = time.strftime("%Y%m%d-%H%M%S")
                path = directory / f"{stamp}-{time.monotonic_ns()}.eml"
                path.write_bytes(envelope.content)
                subject = str(message["Subject"]).strip()
                write(f"{', '.join(envelope.rcpt_tos)} — {subject} → {path}")
                return "250 Message accepted for delivery"

        controller = Controller(Handler(), hostname=options["host"], port=options["port"])
        controller.start()
        write(
            f"Serveur SMTP local sur {options['host']}:{options['port']}, "
            f"e-mails enregistrés dans {directory}/ (Ctrl+C pour arrêter)"
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
