"""The DPO's journal-integrity report: the last verification, the last signed checkpoint, and
whether the period a report covers is intact."""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from ..models import AccessEvent, AccessOperation, JournalCheckpoint, JournalVerification


@dataclass(frozen=True)
class IntegrityStatus:
    verification: JournalVerification | None
    checkpoint: JournalCheckpoint | None
    earliest_kept: dt.datetime | None  # the oldest row still in the journal (after purges)
    last_purge_at: dt.datetime | None
    period_start: dt.datetime
    period_end: dt.datetime
    state: str  # "intact", "partial", "broken", "unverified"
    statement: str  # French, for the report


def _date(value: dt.datetime | None) -> str:
    # At the time of Paris (the database's values are UTC).
    return f"{timezone.localtime(value):%d/%m/%Y %H:%M}" if value else "—"


def journal_integrity_status(*, start: dt.datetime, end: dt.datetime) -> IntegrityStatus:
    verification = JournalVerification.objects.order_by("-finished_at", "-id").first()
    checkpoint = JournalCheckpoint.objects.order_by("-chain_seq", "-id").first()
    # The journal is append-only and purged from its oldest rows: the first row by id (the
    # primary key's index) is the oldest kept — never min(occurred_at), a scan of the table.
    earliest = AccessEvent.objects.order_by("id").values_list("occurred_at", flat=True).first()
    last_purge_at = (
        AccessEvent.objects.filter(operation=AccessOperation.PURGE_MARKER)
        .order_by("-id")
        .values_list("occurred_at", flat=True)
        .first()
    )
    if verification is None:
        state = "unverified"
        statement = (
            "Le journal n'a encore jamais été vérifié : lancez la vérification pour savoir si "
            "la période est intègre."
        )
    elif not verification.ok and (verification.broken_at is None or verification.broken_at < end):
        state = "broken"
        where = (
            f"la chaîne rompue à la ligne n°{verification.broken_id} (du "
            f"{_date(verification.broken_at)})"
            if verification.broken_id is not None
            else "le journal altéré"  # rows gone from its end: no row left to name
        )
        statement = (
            f"ALTÉRATION DÉTECTÉE : la vérification du {_date(verification.finished_at)} a trouvé "
            f"{where} : {verification.reason}. Les lignes postérieures de la période ne peuvent "
            "pas être tenues pour intègres."
        )
    elif verification.covered_to is not None and verification.covered_to >= end:
        state = "intact"
        statement = (
            f"Période intègre : toutes ses lignes ont été vérifiées le "
            f"{_date(verification.finished_at)} (chaîne vérifiée jusqu'au "
            f"{_date(verification.covered_to)})."
        )
    else:
        state = "partial"
        statement = (
            f"Période vérifiée jusqu'au {_date(verification.covered_to)} seulement "
            f"(vérification du {_date(verification.finished_at)}) : les lignes plus récentes "
            "seront couvertes par la prochaine vérification."
        )
    if earliest is not None and start < earliest and last_purge_at is not None:
        statement += (
            f" Les lignes antérieures au {_date(earliest)} ont été purgées (durée de "
            "conservation) ; la chaîne restante repart du marqueur de purge."
        )
    return IntegrityStatus(
        verification=verification,
        checkpoint=checkpoint,
        earliest_kept=earliest,
        last_purge_at=last_purge_at,
        period_start=start,
        period_end=end,
        state=state,
        statement=statement,
    )
