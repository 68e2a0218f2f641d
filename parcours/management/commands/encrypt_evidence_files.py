"""Encrypt the consent evidence files stored before they were encrypted, under new random names.

    manage.py encrypt_evidence_files

Until issue 15 an evidence file was written as uploaded, in clear, under a name built from the
one it had (`consents/2026/formulaire-signe-dupont.pdf`). This command encrypts each such file
with the field keys (the newest one), stores it under a random name (`evidence/ab/ab12…`), points
the consents — and their history rows — at the new name, then deletes the old file. A file whose
content is none of PDF, JPEG, PNG (accepted before the rule) is kept and encrypted too: it is
evidence; the download serves it as bytes to save, never to display.

Idempotent and resumable: a file already encrypted is left alone (one decrypt), so an interrupted
run is simply started again. A file that starts like a token but no key decrypts stops it with the
integrity error (investigate before going on). Safe while the app serves traffic: the app never
rewrites a stored file, and the rename is a compare-and-set on the old name. Raw SQL on purpose, as
`rotate_field_keys`: a storage operation is not a domain change (no history row, `updated_at`
untouched). Never prints a name nor a content (a name may tell the person).
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from parcours import evidence
from parcours.fields import FieldIntegrityError
from parcours.models import Consent


def stored_files() -> list[tuple[str, int]]:
    """Every evidence file a consent or one of its history rows names, once, with a consent's
    id (for messages), in a stable order."""
    names: dict[str, int] = {}
    for model in (Consent, Consent.history.model):  # type: ignore[attr-defined]
        rows = model.objects.exclude(evidence_file="").exclude(evidence_file__isnull=True)
        pk = "pk" if model is Consent else "id"
        for name, consent_id in rows.values_list("evidence_file", pk).order_by(pk):
            names.setdefault(name, consent_id)
    return sorted(names.items(), key=lambda item: (item[1], item[0]))


def _rename(old: str, new: str) -> int:
    """Point every row naming `old` at `new` (the current table and the history), in one
    transaction; the number of consents renamed."""
    qn = connection.ops.quote_name
    renamed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (Consent, Consent.history.model):  # type: ignore[attr-defined]
            column = qn(str(model._meta.get_field("evidence_file").column))
            cursor.execute(
                f"UPDATE {qn(model._meta.db_table)} SET {column} = %s "  # noqa: S608
                f"WHERE {column} = %s",
                [new, old],
            )
            if model is Consent:
                renamed = cursor.rowcount
    return renamed


class Command(BaseCommand):
    help = (
        "Chiffre les pièces justificatives enregistrées en clair avant le chiffrement, sous un "
        "nom aléatoire (idempotent)."
    )

    def handle(self, *args, **opts) -> None:
        counts = {"encrypted": 0, "encrypted-other": 0, "current": 0, "missing": 0}
        files = stored_files()
        for done, (name, consent_id) in enumerate(files, start=1):
            try:
                outcome, new = evidence.encrypt_legacy(name, consent_id=consent_id)
            except FieldIntegrityError as error:
                raise CommandError(str(error)) from None
            if new is not None:
                if _rename(name, new):
                    evidence.discard(name)
                else:  # no row names it any more (erased meanwhile): the copy is not needed
                    evidence.discard(new)
            counts[outcome] += 1
            if done % 100 == 0 or done == len(files):
                self.stdout.write(f"Pièces justificatives : {done}/{len(files)}")
        encrypted = counts["encrypted"] + counts["encrypted-other"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Chiffrement terminé : {encrypted} pièces justificatives chiffrées "
                f"(dont {counts['encrypted-other']} ni PDF, ni JPEG, ni PNG), "
                f"{counts['current']} déjà chiffrées, {counts['missing']} absentes du stockage."
            )
        )
