"""Erasure and anonymisation of records past their retention (docs/retention.md).

Called by the retention job (`services.retention`) on rows it has locked, inside its batch
transaction. Nothing here checks delays: the selectors decided what is due.

What anonymisation keeps (statistics): the person's birth year and département, and every row
with its states and dates — pathways (status, modality, outcome, opening, closing, modality
periods), referrals (kind, partners, status, every dated step), appointments (dates, channel,
outcome), non-sensitive barriers (kind, status, dates), the diagnostic's versions outside health
and justice (domain, level, author, date), timeline entries (kind, date, referral
state), consents (categories, partners, dates) — so counts and delays stay computable. What it
wipes: identity, contact details, identifiers and their blind indexes, every free text (the
messages on the referrals included), health and justice entries, consent evidence files, and
the history of the wiped rows.

Why raw `.update()` and raw deletes of history rows here, against the house rule: the point is
that the old values no longer exist anywhere. A `save()` would write one more history row per
wiped record (thousands per batch) and keep every earlier one, whose columns still hold the old
ciphertexts or names: "anonymised" rows with a complete history of their content would be a fake
anonymisation. So the current rows are rewritten with `.update()` and the history rows of those
objects are deleted (or, for an early erasure of one category of a record still in use, only the
erased columns are blanked in its history). The access journal is not touched: it holds ids, no
content, and has its own purge.
"""

import datetime as dt
from collections.abc import Callable
from functools import partial

from django.apps import apps
from django.db import models, transaction

from ..categories import HEALTH_BARRIERS, PERSON_FIELDS, DataCategory
from ..diagnostic_domains import domains_in
from ..models import (
    AccessRequest,
    Appointment,
    Barrier,
    BreakGlass,
    CareTeamMember,
    CommitteeProposal,
    Consent,
    DiagnosticEntry,
    Objection,
    Objective,
    Pathway,
    PathwayEvent,
    Person,
    PlanAction,
    Referral,
    ReferralMessage,
)
from ..models.person import SEARCH_KEY_FIELDS
from .access_grants import access_recompute
from .person import PERSON_EDITABLE_FIELDS

# Where a database constraint wants a non-empty text (a break-glass reason, the end of a
# care-team membership), the wiped value.
WIPED_TEXT = "[anonymisé]"

# Person fields by category, from the one field → category map (parcours/categories.py).
PERSON_CATEGORY_FIELDS: dict[str, tuple[str, ...]] = {
    category: tuple(f for f in PERSON_EDITABLE_FIELDS if PERSON_FIELDS[f] == category)
    for category in DataCategory.values
}


def _blank(model: type[models.Model], field_name: str) -> object:
    """The wiped value of a field: false for a flag, nothing for an optional date, empty text
    otherwise (encrypted fields store the token of an empty string: a new ciphertext, nothing
    of the old one)."""
    field = model._meta.get_field(field_name)
    if isinstance(field, models.BooleanField):
        return False
    return None if isinstance(field, models.DateField) and field.null else ""


def _history(model: type[models.Model]):
    return model.history.model  # type: ignore[attr-defined]


def departement_of(postal_code: str) -> str:
    """The département of a French postal code: 2 digits, 3 overseas (971…976), 2A/2B for
    Corsica (20000–20199 Corse-du-Sud, 20200–20699 Haute-Corse); "" when unknown."""
    code = (postal_code or "").strip()
    if len(code) != 5 or not code.isdigit():
        return ""
    if code.startswith("97") or code.startswith("98"):
        return code[:3]
    if code.startswith("20"):
        return "2A" if int(code) < 20200 else "2B"
    return code[:2]


def _departement_for_statistics(person: Person) -> str:
    """From the postal code; without one, the département of the organisation that holds the
    person's most recent pathway (where they were followed)."""
    from_postal_code = departement_of(person.postal_code)
    if from_postal_code:
        return from_postal_code
    latest = (
        Pathway.objects.filter(person_id=person.pk)
        .order_by("-opened_at", "-pk")
        .values_list("owner_organisation__departement", flat=True)
        .first()
    )
    return latest or ""


# --- One category of one record (early erasure: the record stays in use) --------------------


def _erase_social(pathway_id: int) -> None:
    Pathway.objects.filter(pk=pathway_id).update(diagnostic_summary="")
    _history(Pathway).objects.filter(id=pathway_id).update(diagnostic_summary="")
    social_barriers = Barrier.objects.filter(pathway_id=pathway_id).exclude(
        kind__in=HEALTH_BARRIERS
    )
    social_barriers.update(detail="")
    _history(Barrier).objects.filter(pathway_id=pathway_id).exclude(
        kind__in=HEALTH_BARRIERS
    ).update(detail="")
    PathwayEvent.objects.filter(pathway_id=pathway_id, category=DataCategory.SOCIAL).update(text="")
    Referral.objects.filter(pathway_id=pathway_id).update(context_note="")
    _history(Referral).objects.filter(pathway_id=pathway_id).update(context_note="")
    # Every version of the diagnostic's social domains: the rows are their own history.
    _diagnostic_of(pathway_id, DataCategory.SOCIAL).update(text="")


def _diagnostic_of(pathway_id: int, category: str):
    return DiagnosticEntry.objects.filter(pathway_id=pathway_id, domain__in=domains_in({category}))


def _erase_health(pathway_id: int) -> None:
    # The kind of a health barrier ("addiction") is itself health data: the rows go, then their
    # history (in that order: deleting a row writes one last "deleted" history row).
    Barrier.objects.filter(pathway_id=pathway_id, kind__in=HEALTH_BARRIERS).delete()
    _history(Barrier).objects.filter(pathway_id=pathway_id, kind__in=HEALTH_BARRIERS).delete()
    PathwayEvent.objects.filter(pathway_id=pathway_id, category=DataCategory.HEALTH).delete()
    _diagnostic_of(pathway_id, DataCategory.HEALTH).delete()  # « santé : frein bloquant »


def _erase_justice(pathway_id: int) -> None:
    PathwayEvent.objects.filter(pathway_id=pathway_id, category=DataCategory.JUSTICE).delete()
    _diagnostic_of(pathway_id, DataCategory.JUSTICE).delete()


# Pathway-side data of each early-erasable category (contact details live on the person only).
_PATHWAY_ERASERS: dict[str, Callable[[int], None]] = {
    DataCategory.SOCIAL: _erase_social,
    DataCategory.HEALTH: _erase_health,
    DataCategory.JUSTICE: _erase_justice,
}


def pathway_erase_category(*, pathway: Pathway, category: str) -> None:
    """Erase `category`'s data of one pathway (and from its history) and note it done.
    The caller holds the pathway's lock."""
    eraser = _PATHWAY_ERASERS.get(category)
    if eraser is not None:
        eraser(pathway.pk)
    erased = sorted({*pathway.erased_categories, category})
    Pathway.objects.filter(pk=pathway.pk).update(erased_categories=erased)
    pathway.erased_categories = erased


def person_erase_category(*, person: Person, category: str) -> None:
    """Erase `category`'s fields of a person still followed elsewhere, and blank them in the
    person's history. The postal code's département is kept first (statistics)."""
    fields = PERSON_CATEGORY_FIELDS[category]
    if not fields:
        return
    values: dict[str, object] = {f: _blank(Person, f) for f in fields}
    if "postal_code" in fields and not person.departement:
        values["departement"] = _departement_for_statistics(person)
    Person.objects.filter(pk=person.pk).update(**values)
    _history(Person).objects.filter(id=person.pk).update(**{f: values[f] for f in fields})
    for field, value in values.items():
        setattr(person, field, value)


# --- The whole record ---------------------------------------------------------------------------


def pathway_anonymise(*, pathway: Pathway, now: dt.datetime) -> None:
    """Wipe a pathway's content and its history, keep its rows, states and dates; remove every
    grant. The caller holds the pathway's lock (the person is handled by `person_anonymise`
    once none of their pathways is left)."""
    pathway_id = pathway.pk
    referral_ids = list(Referral.objects.filter(pathway_id=pathway_id).values_list("pk", flat=True))

    _erase_health(pathway_id)
    _erase_justice(pathway_id)
    PathwayEvent.objects.filter(pathway_id=pathway_id).update(text="")
    DiagnosticEntry.objects.filter(pathway_id=pathway_id).update(text="")  # every version
    Barrier.objects.filter(pathway_id=pathway_id).update(detail="")
    Referral.objects.filter(pk__in=referral_ids).update(
        reason="", context_note="", refusal_comment="", outcome_comment=""
    )
    # A proposed or confirmed réorientation keeps a reason (constraint): the text, not the row.
    Referral.objects.filter(pk__in=referral_ids).exclude(transfer_reason="").update(
        transfer_reason=WIPED_TEXT
    )
    Appointment.objects.filter(referral_id__in=referral_ids).update(place="")
    # The messages between the referrals' parties: append-only rows, their own history.
    ReferralMessage.objects.filter(referral_id__in=referral_ids).update(text="")
    CareTeamMember.objects.filter(pathway_id=pathway_id).exclude(end_reason="").update(
        end_reason=WIPED_TEXT
    )
    AccessRequest.objects.filter(pathway_id=pathway_id).update(reason="", decision_comment="")
    BreakGlass.objects.filter(pathway_id=pathway_id).update(reason=WIPED_TEXT)
    Objective.objects.filter(pathway_id=pathway_id).update(title=WIPED_TEXT)
    PlanAction.objects.filter(pathway_id=pathway_id).update(label=WIPED_TEXT)
    # What the committee read and decided (the rows, states and dates stay for its figures).
    CommitteeProposal.objects.filter(pathway_id=pathway_id).update(
        reason=WIPED_TEXT, question=WIPED_TEXT, summary=WIPED_TEXT
    )
    CommitteeProposal.objects.filter(pathway_id=pathway_id, status="declined").update(
        declined_reason=WIPED_TEXT
    )
    CommitteeProposal.objects.filter(pathway_id=pathway_id, status="decided").update(
        decision=WIPED_TEXT
    )

    _history(Appointment).objects.filter(referral_id__in=referral_ids).delete()
    _history(Referral).objects.filter(pathway_id=pathway_id).delete()
    _history(Barrier).objects.filter(pathway_id=pathway_id).delete()
    _history(CareTeamMember).objects.filter(pathway_id=pathway_id).delete()
    _history(Objective).objects.filter(pathway_id=pathway_id).delete()
    _history(PlanAction).objects.filter(pathway_id=pathway_id).delete()
    _history(CommitteeProposal).objects.filter(pathway_id=pathway_id).delete()
    _history(Pathway).objects.filter(id=pathway_id).delete()

    archived_at = pathway.archived_at or now
    Pathway.objects.filter(pk=pathway_id).update(
        diagnostic_summary="", archived_at=archived_at, anonymised_at=now, erased_categories=[]
    )
    pathway.diagnostic_summary, pathway.archived_at, pathway.anonymised_at = "", archived_at, now
    access_recompute(pathway_id=pathway_id)


def person_anonymise(*, person: Person, now: dt.datetime) -> None:
    """Wipe a person's identity, contact details, identifiers (and their blind indexes), flags,
    consents' evidence and texts, objections' reasons, and all their history rows. Keeps the
    birth year, the département, the row and its links. The caller holds the person's lock and
    has anonymised every pathway of theirs."""
    values: dict[str, object] = {f: _blank(Person, f) for f in PERSON_EDITABLE_FIELDS}
    values.update({key: "" for key in SEARCH_KEY_FIELDS})
    values.update(
        # The column is NOT NULL: 1 January of the birth year, which `birth_year` states.
        birth_date=dt.date(person.birth_date.year, 1, 1),
        birth_year=person.birth_year or person.birth_date.year,
        departement=person.departement or _departement_for_statistics(person),
        anonymised_at=now,
    )
    Person.objects.filter(pk=person.pk).update(**values)
    _history(Person).objects.filter(id=person.pk).delete()

    consents = Consent.objects.filter(person_id=person.pk)
    consent_ids = list(consents.values_list("pk", flat=True))
    evidence = [name for name in consents.values_list("evidence_file", flat=True) if name]
    consents.update(purpose="", evidence_file="")
    consent_history = _history(Consent).objects.filter(id__in=consent_ids)
    # The organisations' m2m history rows point at the history rows without a database
    # constraint (DO_NOTHING): delete them explicitly, or they would be orphans.
    apps.get_model("parcours", "HistoricalConsent_organisations").objects.filter(
        history__in=consent_history.values("pk")
    ).delete()
    consent_history.delete()
    storage = Consent._meta.get_field("evidence_file").storage  # type: ignore[attr-defined]
    for name in evidence:
        # After the commit: a rolled-back batch must not lose a file its row still names.
        # Robust: a storage error is logged by Django, never raised into the request or job
        # whose erasure has already committed.
        transaction.on_commit(partial(storage.delete, name), robust=True)

    objection_ids = list(Objection.objects.filter(person_id=person.pk).values_list("pk", flat=True))
    Objection.objects.filter(pk__in=objection_ids).update(reason="")
    _history(Objection).objects.filter(id__in=objection_ids).delete()

    for field, value in values.items():
        setattr(person, field, value)


def person_erase_now(*, person_id: int, now: dt.datetime) -> Person:
    """Erasure on request (GDPR art. 17, where the law allows — the DPO decides): anonymise every
    pathway of the person and the person now, as the retention job does at the end of the
    retention period. Locks the person, then their pathways (the write services' order)."""
    person = Person.objects.select_for_update().get(pk=person_id)
    pathways = list(
        Pathway.objects.select_for_update(of=("self",))
        .filter(person_id=person_id, anonymised_at__isnull=True)
        .order_by("pk")
    )
    for pathway in pathways:
        pathway_anonymise(pathway=pathway, now=now)
    if person.anonymised_at is None:
        person_anonymise(person=person, now=now)
    return person
