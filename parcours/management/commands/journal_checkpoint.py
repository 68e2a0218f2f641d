"""Sign the access journal's chain head (Ed25519), or check a saved checkpoint.

    manage.py journal_checkpoint --generate-key /secure/journal.pem   # + journal.pem.pub
    manage.py journal_checkpoint [--key PATH] [--out FILE]            # sign the head
    manage.py journal_checkpoint --verify FILE [--public-key PATH]    # check against the chain

The key defaults to JOURNAL_SIGNING_KEY_FILE. Copy the printed document outside the system.
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from parcours.services.journal import (
    JournalBroken,
    checkpoint_document,
    journal_checkpoint_create,
    journal_checkpoint_verify,
    journal_signing_key_load,
    load_public_key_pem,
    public_key_fingerprint,
    public_key_pem,
)


class Command(BaseCommand):
    help = "Signe la tête de la chaîne du journal des accès (Ed25519), ou vérifie un point signé."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--key", help="Clé privée Ed25519 (PEM) ; JOURNAL_SIGNING_KEY_FILE")
        parser.add_argument("--out", help="Écrire aussi le point de contrôle dans ce fichier")
        parser.add_argument("--generate-key", metavar="PATH", help="Créer une paire de clés")
        parser.add_argument("--verify", metavar="FILE", help="Vérifier un point de contrôle")
        parser.add_argument("--public-key", help="Clé publique de confiance (PEM) pour --verify")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["generate_key"]:
            self._generate_key(Path(options["generate_key"]))
        elif options["verify"]:
            self._verify(Path(options["verify"]), options["public_key"])
        else:
            self._sign(options["key"] or settings.JOURNAL_SIGNING_KEY_FILE, options["out"])

    def _generate_key(self, path: Path) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as error:
            raise CommandError(f"{path} existe déjà : il ne sera pas écrasé.") from error
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        public_path = path.with_name(path.name + ".pub")
        public_path.write_text(public_key_pem(key.public_key()))
        self.stdout.write(
            f"Clé privée : {path} (mode 0600)\nClé publique : {public_path}\n"
            f"Empreinte : {public_key_fingerprint(key.public_key())}\n"
            "Notez l'empreinte hors du système : elle authentifie les points de contrôle."
        )

    def _sign(self, key_path: str, out: str | None) -> None:
        if not key_path:
            raise CommandError(
                "Aucune clé de signature : passez --key ou fixez JOURNAL_SIGNING_KEY_FILE "
                "(créez-la avec --generate-key)."
            )
        try:
            key = journal_signing_key_load(key_path)
        except ValueError as error:
            raise CommandError(str(error)) from error
        try:
            checkpoint = journal_checkpoint_create(private_key=key)
        except JournalBroken as error:
            self.stdout.write(str(error))
            sys.exit(1)
        document = json.dumps(checkpoint_document(checkpoint), indent=2, ensure_ascii=False)
        if out:
            Path(out).write_text(document + "\n")
        self.stdout.write(document)

    def _verify(self, path: Path, public_key_path: str | None) -> None:
        try:
            document = json.loads(path.read_text())
            trusted = (
                load_public_key_pem(Path(public_key_path).read_bytes()) if public_key_path else None
            )
        except (OSError, ValueError) as error:
            raise CommandError(f"Lecture impossible : {error}") from error
        if not isinstance(document, dict):
            raise CommandError(f"{path} n'est pas un point de contrôle.")
        result = journal_checkpoint_verify(document, trusted_public_key=trusted)
        self.stdout.write(result.message)
        if trusted is None and result.ok:
            self.stdout.write(
                f"Clé du document : {document.get('fingerprint', '?')} — comparez-la à "
                "l'empreinte notée à la création de la clé (ou passez --public-key)."
            )
        if not result.ok:
            sys.exit(1)
