"""Retention reads: the rules in force, and what falls due by a given moment (docs/retention.md).

`retention_due` is shared by the daily job (`services.retention.retention_apply`, horizon 0) and
the forecast (`manage.py retention_forecast`, horizon 30 days), so the two can never disagree on
what is due. Every delay counts from `Pathway.last_contact_at`:

- archive: `last_contact_at` older than the pathway rule's active months;
- anonymise: older than the pathway rule's active + archived months (the pathway's content; the
  person's identity once none of their pathways is left);
- early erasure of a category: older than that category's active + archived months, when that is
  shorter than the pathway's total (identity excepted: erasing it *is* anonymisation);
- journal: rows older than the journal rule's active months.
"""

import calendar
import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from ..categories import DataCategory
from ..models import AccessEvent, Pathway, Person, RetentionRule
from ..models.retention import DEFAULT_RULES, JOURNAL, RETENTION_SUBJECTS

# Categories whose shorter rule erases their data before the record's anonymisation. Identity
# is not one: a record without identity is the anonymised record.
EARLY_ERASABLE: tuple[str, ...] = (
    DataCategory.CONTACT,
    DataCategory.SOCIAL,
    DataCategory.HEALTH,
    DataCategory.JUSTICE,
)


@dataclass(frozen=True)
class RetentionRuleInForce:
    """One line of the processing register's retention section (GDPR art. 30)."""

    category: str
    label: str
    active_months: int
    archived_months: int
    reference: str
    # Months after the last contact at which the data are really erased or anonymised: the
    # configured total, capped by the pathway's (the record is anonymised then, whatever else).
    erased_after_months: int
    configured: bool  # False: no row in the table, the default applies


def retention_rules_in_force() -> list[RetentionRuleInForce]:
    """Every category (and the journal) with its durations: the table's row, else the default."""
    rows = {rule.category: rule for rule in RetentionRule.objects.all()}
    labels = dict(RETENTION_SUBJECTS)

    def values(category: str) -> tuple[int, int, str]:
        row = rows.get(category)
        if row is None:
            return DEFAULT_RULES[category]
        return row.active_months, row.archived_months, row.reference

    pathway_active, pathway_archived, _ = values(DataCategory.PATHWAY)
    record_total = pathway_active + pathway_archived
    result = []
    for category, label in labels.items():
        active, archived, reference = values(category)
        if category == JOURNAL:
            erased_after = active
        elif category == DataCategory.IDENTITY:
            erased_after = record_total
        else:
            erased_after = min(active + archived, record_total)
        result.append(
            RetentionRuleInForce(
                category=category,
                label=label,
                active_months=active,
                archived_months=archived,
                reference=reference,
                erased_after_months=erased_after,
                configured=category in rows,
            )
        )
    return result


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same wall-clock moment `months` calendar months earlier (31 March − 1 → 28/29 Feb)."""
    years, month_index = divmod(moment.month - 1 - months, 12)
    year, month = moment.year + years, month_index + 1
    return moment.replace(
        year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1])
    )


@dataclass(frozen=True)
class RetentionDue:
    """What is due at `moment` (= now + horizon). Querysets are lazy: count or iterate them."""

    moment: dt.datetime
    archive_before: dt.datetime
    anonymise_before: dt.datetime
    erase_before: dict[str, dt.datetime]  # only categories erased ahead of the record
    journal_before: dt.datetime

    def pathways_to_archive(self) -> QuerySet[Pathway]:
        return Pathway.objects.filter(
            archived_at__isnull=True, last_contact_at__lt=self.archive_before
        )

    def pathways_to_anonymise(self) -> QuerySet[Pathway]:
        return Pathway.objects.filter(
            anonymised_at__isnull=True, last_contact_at__lt=self.anonymise_before
        )

    def persons_to_anonymise(self) -> QuerySet[Person]:
        """People whose every pathway is anonymised by then (at least one of them now)."""
        kept = Pathway.objects.filter(
            person_id=OuterRef("pk"),
            anonymised_at__isnull=True,
            last_contact_at__gte=self.anonymise_before,
        )
        due = self.pathways_to_anonymise().filter(person_id=OuterRef("pk"))
        return Person.objects.filter(Exists(due), anonymised_at__isnull=True).exclude(Exists(kept))

    def pathways_to_erase(self, category: str) -> QuerySet[Pathway]:
        """Pathways whose `category` data fall due, and that are not anonymised by then anyway."""
        return Pathway.objects.filter(
            anonymised_at__isnull=True,
            last_contact_at__lt=self.erase_before[category],
            last_contact_at__gte=self.anonymise_before,
        ).exclude(erased_categories__contains=[category])

    def journal_rows_to_purge(self) -> int:
        """Sealed journal rows the purge would delete (never the chain head; see journal_purge).
        Rows sealed meanwhile by the checkpoint the purge makes are not counted."""
        sealed = AccessEvent.objects.filter(chain_seq__isnull=False)
        # The chain is in time order: walk its start until the first recent row (index on
        # chain_seq), instead of filtering the whole journal on occurred_at (no index alone).
        first = sealed.order_by("chain_seq").values_list("chain_seq", flat=True).first()
        if first is None:
            return 0
        head = sealed.order_by("-chain_seq").values_list("chain_seq", flat=True).first() or first
        first_recent = (
            sealed.filter(occurred_at__gte=self.journal_before)
            .order_by("chain_seq")
            .values_list("chain_seq", flat=True)
            .first()
        )
        boundary = head - 1 if first_recent is None else min(head - 1, first_recent - 1)
        # After a purge the remaining chain has no gaps: a count is a subtraction.
        return max(0, boundary - first + 1)


def retention_due(*, now: dt.datetime, horizon: dt.timedelta = dt.timedelta(0)) -> RetentionDue:
    """What the retention rules make due by `now + horizon`."""
    moment = now + horizon
    rules = {rule.category: rule for rule in retention_rules_in_force()}
    record = rules[DataCategory.PATHWAY]
    record_total = record.active_months + record.archived_months
    return RetentionDue(
        moment=moment,
        archive_before=months_before(moment, record.active_months),
        anonymise_before=months_before(moment, record_total),
        erase_before={
            category: months_before(moment, rules[category].erased_after_months)
            for category in EARLY_ERASABLE
            if rules[category].erased_after_months < record_total
        },
        journal_before=months_before(moment, rules[JOURNAL].active_months),
    )
