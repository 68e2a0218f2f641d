"""Running the chain verification and keeping its outcome for the DPO's integrity report."""

import datetime as dt

from django.utils import timezone

from ..models import AccessEvent, JournalVerification
from .journal import ChainReport, journal_verify


def journal_verification_run(*, triggered_by: str) -> JournalVerification:
    """Walk the whole remaining chain (`journal_verify`) and store the outcome. No transaction:
    the walk may take minutes and holds no lock; the result row is one INSERT."""
    started_at = timezone.now()
    return journal_verification_record(
        report=journal_verify(), started_at=started_at, triggered_by=triggered_by
    )


def journal_verification_record(
    *, report: ChainReport, started_at: dt.datetime, triggered_by: str
) -> JournalVerification:
    """Store the outcome of a whole-chain walk with the dates of the rows it covered."""
    sealed = AccessEvent.objects.filter(chain_seq__isnull=False)
    first = sealed.order_by("chain_seq").values("chain_seq", "occurred_at").first()
    covered_to = (
        sealed.filter(chain_seq=report.last_seq).values_list("occurred_at", flat=True).first()
        if report.last_seq is not None
        else None
    )
    broken_at = (
        AccessEvent.objects.filter(pk=report.broken_id)
        .values_list("occurred_at", flat=True)
        .first()
        if report.broken_id is not None
        else None
    )
    return JournalVerification.objects.create(
        started_at=started_at,
        finished_at=timezone.now(),
        ok=report.ok,
        checked=report.checked,
        first_seq=first["chain_seq"] if first else None,
        last_seq=report.last_seq,
        covered_from=first["occurred_at"] if first else None,
        covered_to=covered_to,
        unsealed=report.unsealed,
        broken_id=report.broken_id,
        broken_seq=report.broken_seq,
        broken_at=broken_at,
        reason=report.reason,
        triggered_by=triggered_by[:150],
    )
