"""Re-encrypt every encrypted value under the newest key of FIELD_ENCRYPTION_KEYS.

    manage.py rotate_field_keys [--batch-size 1000]

Runbook (docs/security.md): put the new key first in FIELD_ENCRYPTION_KEYS, keep the old ones
after it, restart (the app now writes under the new key and still reads the old ones), run this
command, then remove the old keys and restart again.

Every model with encrypted fields is covered, its django-simple-history table included. Rows are
read by primary key in batches, each batch in its own short transaction. A value that already
decrypts under the newest key is skipped, so an interrupted run is simply started again (it is
resumable and idempotent). Safe while the app serves traffic: each UPDATE is a compare-and-set on
the token read, so a value the app rewrote meanwhile (already under the newest key) is left alone.
Primary keys must be integers (every model here).

Raw SQL on purpose: rotation is not a domain change, so it must not create history rows nor touch
updated_at (which QuerySet.update/save would do or bypass inconsistently). Never prints a value.

The consents' evidence files are encrypted under the same keys (parcours/evidence.py): each one
not yet under the newest key is re-encrypted in place, after the tables (same name, the new token
written to a temporary file then renamed over the old one: a crash leaves one or the other). A
file still in clear (stored before encryption) is counted and left for `encrypt_evidence_files`.
"""

import time
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from parcours.fields import FieldIntegrityError, encrypted_fields, multifernet, newest_fernet


@dataclass
class Target:
    label: str
    table: str
    pk: str
    columns: list[str]
    fields: list[str]


def rotation_targets() -> list[Target]:
    """Every model (historical ones included) holding encrypted fields, in a stable order."""
    targets = []
    for model in sorted(apps.get_models(), key=lambda m: m._meta.label):
        fields = encrypted_fields(model)
        if fields and not model._meta.proxy and model._meta.managed:
            targets.append(
                Target(
                    label=model._meta.label,
                    table=model._meta.db_table,
                    pk=str(model._meta.pk.column),  # type: ignore[union-attr]
                    columns=[str(f.column) for f in fields],
                    fields=[f.name for f in fields],
                )
            )
    return targets


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field value under the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, **opts) -> None:
        batch_size: int = opts["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size >= 1.")
        started = time.perf_counter()
        totals = {"rows": 0, "rotated": 0, "current": 0}
        for target in rotation_targets():
            counts = self._rotate(target, batch_size)
            for key in totals:
                totals[key] += counts[key]
        files = self._rotate_evidence()
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"Pièces justificatives : {files['rotated']} re-chiffrées, {files['current']} déjà "
            f"sous la clé la plus récente, {files['missing']} absentes du stockage."
        )
        if files["plaintext"]:
            self.stdout.write(
                self.style.WARNING(
                    f"{files['plaintext']} pièces justificatives encore en clair : lancez "
                    "manage.py encrypt_evidence_files (docs/operations.md)."
                )
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Rotation terminée : {totals['rotated']} valeurs re-chiffrées, "
                f"{totals['current']} déjà sous la clé la plus récente, "
                f"{totals['rows']} lignes parcourues en {elapsed:.1f} s."
            )
        )

    def _rotate_evidence(self) -> dict[str, int]:
        """Every stored evidence file under the newest key (idempotent: one decrypt for a file
        already under it)."""
        from parcours import evidence

        from .encrypt_evidence_files import stored_files

        counts = {"rotated": 0, "current": 0, "plaintext": 0, "missing": 0}
        files = stored_files()
        for done, (name, consent_id) in enumerate(files, start=1):
            try:
                counts[evidence.rotate(name, consent_id=consent_id)] += 1
            except FieldIntegrityError as error:
                raise CommandError(str(error)) from None
            if done % 100 == 0 or done == len(files):
                self.stdout.write(f"Pièces justificatives : {done}/{len(files)}")
        return counts

    @staticmethod
    def _write(cursor: Any, target: Target, updates: dict[str, list[tuple[str, Any, str]]]) -> None:
        """Compare-and-set: a value rewritten meanwhile by the app (already under the newest
        key) is left alone. PostgreSQL: one UPDATE per batch; elsewhere one per value."""
        qn = connection.ops.quote_name
        table, pk = qn(target.table), qn(target.pk)
        if connection.vendor != "postgresql":
            for column, values in updates.items():
                if values:
                    cursor.executemany(
                        f"UPDATE {table} SET {qn(column)} = %s "  # noqa: S608
                        f"WHERE {pk} = %s AND {qn(column)} = %s",
                        values,
                    )
            return
        changed: dict[Any, dict[str, tuple[str, str]]] = {}
        for column, values in updates.items():
            for new, row_pk, old in values:
                changed.setdefault(row_pk, {})[column] = (old, new)
        if not changed:
            return
        pks = list(changed)
        params: list[Any] = [pks]
        sets, arrays = [], ["%s::bigint[]"]
        for i, column in enumerate(target.columns):
            olds = [changed[p].get(column, (None, None))[0] for p in pks]
            news = [changed[p].get(column, (None, None))[1] for p in pks]
            params += [olds, news]
            arrays += ["%s::text[]", "%s::text[]"]
            c = qn(column)
            sets.append(
                f"{c} = CASE WHEN u.new{i} IS NOT NULL AND t.{c} = u.old{i} "
                f"THEN u.new{i} ELSE t.{c} END"
            )
        names = ", ".join(["pk"] + [f"old{i}, new{i}" for i in range(len(target.columns))])
        cursor.execute(
            f"UPDATE {table} AS t SET {', '.join(sets)} "  # noqa: S608 - identifiers only
            f"FROM unnest({', '.join(arrays)}) AS u({names}) WHERE t.{pk} = u.pk",
            params,
        )

    def _rotate(self, target: Target, batch_size: int) -> dict[str, int]:
        qn = connection.ops.quote_name
        table, pk = qn(target.table), qn(target.pk)
        cols = ", ".join(qn(c) for c in target.columns)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - identifiers only
            total = cursor.fetchone()[0]
        newest, every_key = newest_fernet(), multifernet()
        counts = {"rows": 0, "rotated": 0, "current": 0}
        last_pk: Any = None
        while True:
            where = "" if last_pk is None else f"WHERE {pk} > %s"
            params: list[Any] = [] if last_pk is None else [last_pk]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {pk}, {cols} FROM {table} {where} "  # noqa: S608 - identifiers only
                    f"ORDER BY {pk} LIMIT %s",
                    [*params, batch_size],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                updates: dict[str, list[tuple[str, Any, str]]] = {c: [] for c in target.columns}
                for row in rows:
                    row_pk = row[0]
                    for column, field, token in zip(
                        target.columns, target.fields, row[1:], strict=True
                    ):
                        if token is None:
                            continue
                        raw = token.encode()
                        try:
                            newest.decrypt(raw)
                            counts["current"] += 1
                            continue
                        except InvalidToken:
                            pass
                        try:
                            rotated = every_key.rotate(raw).decode()
                        except InvalidToken:
                            raise CommandError(
                                str(FieldIntegrityError(target.label, field, row_pk))
                            ) from None
                        updates[column].append((rotated, row_pk, token))
                counts["rotated"] += sum(len(values) for values in updates.values())
                self._write(cursor, target, updates)
                counts["rows"] += len(rows)
                last_pk = rows[-1][0]
            percent = 100 * counts["rows"] // max(total, 1)
            self.stdout.write(f"{target.label} : {counts['rows']}/{total} ({percent} %)")
        if not total:
            self.stdout.write(f"{target.label} : 0/0")
        return counts
