"""The retention job (docs/retention.md): archive, anonymise, erase early, purge the journal.

Run daily by Celery beat (`parcours.retention_apply`) and by `manage.py retention_apply`. What is
due comes from `selectors.retention.retention_due`, shared with the forecast.

Each step walks its due pathways in keyset pages over its partial index, oldest last contact
first; each page is its own transaction, in the lock order of the write services (the persons
concerned, then the pathways, `SKIP LOCKED`: a pathway a user is writing on right now is left
for tomorrow), re-checks under lock that each row is still due (a contact may just have
happened), changes it and appends one journal row naming the ids it changed. A crash loses at
most the page in progress; a second run finds nothing left to do (idempotent).

A dry run changes nothing at all — no record, no journal row, no checkpoint — and reports what a
real run would do now.
"""

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from ..categories import DataCategory
from ..gate.journal import journal_record
from ..models import AccessOperation, Pathway, Person
from ..selectors.retention import RetentionDue, retention_due
from .access_grants import access_recompute
from .erasure import (
    PERSON_CATEGORY_FIELDS,
    pathway_anonymise,
    pathway_erase_category,
    person_anonymise,
    person_erase_category,
)
from .journal import JournalBroken, journal_checkpoint_create, journal_purge

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

logger = logging.getLogger(__name__)

PURPOSE = "Conservation des données"

Progress = Callable[[str], None]


@dataclass
class RetentionReport:
    """What a run did (or, dry, would do). Ids only: never a name."""

    now: dt.datetime
    dry_run: bool
    archived: list[int] = field(default_factory=list)  # pathway ids
    anonymised_pathways: list[int] = field(default_factory=list)
    anonymised_persons: list[int] = field(default_factory=list)
    erased: dict[str, list[int]] = field(default_factory=dict)  # category → pathway ids
    journal_due: int = 0
    journal_purged: int = 0
    journal_checkpoint_seq: int | None = None
    journal_note: str = ""  # why the journal was not purged, when it was due
    complete: bool = True  # False: the time budget ran out, the next run continues

    def as_dict(self) -> dict:
        return {
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "archived": len(self.archived),
            "anonymised_pathways": len(self.anonymised_pathways),
            "anonymised_persons": len(self.anonymised_persons),
            "erased": {category: len(ids) for category, ids in sorted(self.erased.items())},
            "journal_due": self.journal_due,
            "journal_purged": self.journal_purged,
            "journal_checkpoint_seq": self.journal_checkpoint_seq,
            "journal_note": self.journal_note,
            "complete": self.complete,
        }

    def summary_lines(self) -> list[str]:
        verb = "à " if self.dry_run else ""
        lines = [
            "Simulation : rien n'a été modifié." if self.dry_run else "Conservation appliquée.",
            f"Parcours {verb}archiver : {len(self.archived)}"
            if self.dry_run
            else f"Parcours archivés : {len(self.archived)}",
            f"Parcours {verb}anonymiser : {len(self.anonymised_pathways)} ; personnes : "
            f"{len(self.anonymised_persons)}"
            if self.dry_run
            else f"Parcours anonymisés : {len(self.anonymised_pathways)} ; personnes "
            f"anonymisées : {len(self.anonymised_persons)}",
        ]
        for category, ids in sorted(self.erased.items()):
            lines.append(
                f"Effacement anticipé « {DataCategory(category).label} » : {len(ids)} parcours"
            )
        if self.dry_run:
            lines.append(f"Journal des accès : {self.journal_due} ligne(s) à purger")
        else:
            purged = f"Journal des accès : {self.journal_purged} ligne(s) purgée(s)"
            if self.journal_checkpoint_seq is not None:
                purged += f" (point de contrôle signé à la séquence {self.journal_checkpoint_seq})"
            lines.append(purged)
        if self.journal_note:
            lines.append(self.journal_note)
        if not self.complete:
            lines.append("Temps imparti écoulé : la prochaine exécution reprendra la suite.")
        return lines


def _journal_batch(*, object_type: str, ids: list[int], step: str, due: RetentionDue, **detail):
    """One row per page: the ids changed, the step and its threshold (no content)."""
    if ids:
        journal_record(
            actor=None,
            operation=AccessOperation.WRITE,
            object_type=object_type,
            object_ids=ids,
            purpose=f"{PURPOSE} : {step}",
            detail={"step": step, "moment": due.moment.isoformat(), **detail},
        )


def _pages(
    queryset: QuerySet[Pathway],
    *,
    batch_size: int,
    process: Callable[[QuerySet[Pathway], set[int]], list[int]],
    deadline: float | None,
    progress: Progress | None,
    label: str,
) -> tuple[list[int], bool]:
    """Walk `queryset` in keyset pages of (last contact, id), one transaction per page.
    `process(locked_rows_queryset, person_ids)` changes a page and returns the ids it changed.
    Returns every id changed, and False when the time budget ran out."""
    done: list[int] = []
    cursor: tuple[dt.datetime, int] | None = None
    while True:
        if deadline is not None and time.monotonic() > deadline:
            return done, False
        page = queryset.order_by("last_contact_at", "pk")
        if cursor is not None:
            page = page.filter(
                Q(last_contact_at__gt=cursor[0]) | Q(last_contact_at=cursor[0], pk__gt=cursor[1])
            )
        with transaction.atomic():
            candidates = list(page.values_list("pk", "last_contact_at", "person_id")[:batch_size])
            if not candidates:
                return done, True
            cursor = (candidates[-1][1], candidates[-1][0])
            ids = [pk for pk, _, _ in candidates]
            changed = process(queryset.filter(pk__in=ids), {c[2] for c in candidates})
        done.extend(changed)
        if progress is not None and changed:
            progress(f"{label} : {len(changed)} parcours dans ce lot, {len(done)} au total")


def _lock_persons(person_ids: Iterable[int]) -> list[Person]:
    """Persons first, in id order (the write services lock a person before their pathway)."""
    return list(Person.objects.select_for_update().filter(pk__in=set(person_ids)).order_by("pk"))


def _lock_pathways(due_rows: QuerySet[Pathway]) -> list[Pathway]:
    """The page's rows still due now that they are locked; those a user holds are skipped."""
    return list(due_rows.select_for_update(of=("self",), skip_locked=True).order_by("pk"))


def _archive(due: RetentionDue, now: dt.datetime, **paging) -> tuple[list[int], bool]:
    def process(due_rows: QuerySet[Pathway], person_ids: set[int]) -> list[int]:
        pathways = _lock_pathways(due_rows)
        for pathway in pathways:
            pathway.archived_at = now
            pathway._history_user = None  # type: ignore[attr-defined]
            pathway._change_reason = (  # type: ignore[attr-defined]
                "Archivage : aucun contact pendant la durée de conservation active"
            )
            # Only the job's column (update_fields: never an in-memory copy of the others, and
            # `updated_at` keeps the last real change); the history row records the archiving.
            pathway.save(update_fields=["archived_at"])
            access_recompute(pathway_id=pathway.pk)
        ids = [p.pk for p in pathways]
        _journal_batch(object_type="pathway", ids=ids, step="archivage", due=due)
        return ids

    return _pages(due.pathways_to_archive(), process=process, label="Archivage", **paging)


def _anonymise(
    due: RetentionDue, now: dt.datetime, report: RetentionReport, **paging
) -> tuple[list[int], bool]:
    def process(due_rows: QuerySet[Pathway], person_ids: set[int]) -> list[int]:
        persons = _lock_persons(person_ids)
        pathways = _lock_pathways(due_rows)
        for pathway in pathways:
            pathway_anonymise(pathway=pathway, now=now)
        anonymised = []
        for person in persons:
            left = Pathway.objects.filter(person_id=person.pk, anonymised_at__isnull=True)
            if person.anonymised_at is None and not left.exists():
                person_anonymise(person=person, now=now)
                anonymised.append(person.pk)
        ids = [p.pk for p in pathways]
        _journal_batch(object_type="pathway", ids=ids, step="anonymisation", due=due)
        _journal_batch(object_type="person", ids=anonymised, step="anonymisation", due=due)
        report.anonymised_persons.extend(anonymised)
        return ids

    return _pages(due.pathways_to_anonymise(), process=process, label="Anonymisation", **paging)


def _erase(due: RetentionDue, category: str, **paging) -> tuple[list[int], bool]:
    def process(due_rows: QuerySet[Pathway], person_ids: set[int]) -> list[int]:
        persons = _lock_persons(person_ids) if PERSON_CATEGORY_FIELDS[category] else []
        pathways = _lock_pathways(due_rows)
        for pathway in pathways:
            pathway_erase_category(pathway=pathway, category=category)
        for person in persons:
            # The person's own fields of the category go once no pathway still needs them.
            still_kept = Pathway.objects.filter(
                person_id=person.pk, anonymised_at__isnull=True
            ).exclude(erased_categories__contains=[category])
            if not still_kept.exists():
                person_erase_category(person=person, category=category)
        ids = [p.pk for p in pathways]
        _journal_batch(
            object_type="pathway",
            ids=ids,
            step=f"effacement de la catégorie « {DataCategory(category).label} »",
            due=due,
            category=category,
        )
        return ids

    label = f"Effacement « {DataCategory(category).label} »"
    return _pages(due.pathways_to_erase(category), process=process, label=label, **paging)


def journal_signing_key() -> tuple["Ed25519PrivateKey | None", str]:
    """The checkpoint key (JOURNAL_SIGNING_KEY_FILE), or None and why not (French)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = settings.JOURNAL_SIGNING_KEY_FILE
    if not path:
        return None, (
            "Purge du journal non effectuée : aucune clé de signature configurée "
            "(JOURNAL_SIGNING_KEY_FILE). Sans point de contrôle signé, le journal n'est "
            "jamais purgé."
        )
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        return None, f"Purge du journal non effectuée : clé de signature illisible ({error})."
    if not isinstance(key, Ed25519PrivateKey):
        return None, "Purge du journal non effectuée : la clé de signature n'est pas Ed25519."
    return key, ""


def _purge_journal(due: RetentionDue, report: RetentionReport) -> None:
    """Sign a checkpoint, then purge through the journal's one purge function: the remaining
    chain still verifies from the purge marker."""
    report.journal_due = due.journal_rows_to_purge()
    if not report.journal_due:
        return
    key, problem = journal_signing_key()
    if key is None:
        report.journal_note = f"{problem} {report.journal_due} ligne(s) en attente."
        logger.warning("retention: %s", report.journal_note)
        return
    try:
        checkpoint = journal_checkpoint_create(private_key=key)
        report.journal_checkpoint_seq = checkpoint.chain_seq
        report.journal_purged = journal_purge(
            before=due.journal_before,
            actor=None,
            purpose=f"{PURPOSE} : purge du journal des accès",
        )
    except JournalBroken as error:
        # Evidence of tampering is never purged: say it loudly, let the other steps stand.
        report.journal_note = str(error)
        logger.error("retention: %s", error)


def retention_apply(
    *,
    now: dt.datetime,
    dry_run: bool = False,
    batch_size: int = 500,
    progress: Progress | None = None,
    budget_seconds: float | None = None,
) -> RetentionReport:
    """Apply the retention rules as of `now`: archive, anonymise, erase categories early, purge
    the journal; then journal one `report` row with the counts (not in a dry run).

    Idempotent and safe to run concurrently with users and with itself (pages under
    `SKIP LOCKED`, each row re-checked under lock). `budget_seconds` bounds the run: pages are
    not started after it, the next run continues (`report.complete` is then False).
    Without a journal signing key the journal purge is skipped and the report says so.
    """
    due = retention_due(now=now)
    report = RetentionReport(now=now, dry_run=dry_run)
    if dry_run:
        return _dry_run(due, report)
    deadline = time.monotonic() + budget_seconds if budget_seconds is not None else None
    paging = {"batch_size": batch_size, "deadline": deadline, "progress": progress}
    report.archived, complete = _archive(due, now, **paging)
    if complete:
        report.anonymised_pathways, complete = _anonymise(due, now, report, **paging)
    for category in sorted(due.erase_before):
        if not complete:
            break
        report.erased[category], complete = _erase(due, category, **paging)
    report.complete = complete
    if complete:
        _purge_journal(due, report)
    journal_record(
        actor=None,
        operation=AccessOperation.REPORT,
        object_type="retention",
        purpose=f"{PURPOSE} : rapport d'exécution",
        detail=report.as_dict(),
    )
    return report


def _dry_run(due: RetentionDue, report: RetentionReport) -> RetentionReport:
    def ids(queryset: QuerySet) -> list[int]:
        return list(queryset.order_by("pk").values_list("pk", flat=True))

    report.archived = ids(due.pathways_to_archive())
    report.anonymised_pathways = ids(due.pathways_to_anonymise())
    report.anonymised_persons = ids(due.persons_to_anonymise())
    report.erased = {c: ids(due.pathways_to_erase(c)) for c in sorted(due.erase_before)}
    report.journal_due = due.journal_rows_to_purge()
    if report.journal_due and not settings.JOURNAL_SIGNING_KEY_FILE:
        report.journal_note = journal_signing_key()[1]
    return report
