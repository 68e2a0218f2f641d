"""Recompute the materialised access rights of one pathway.

An organisation sees a category of a pathway when it has a **relationship** with the pathway
(owner, référent's organisation, care-team member, sender or receiver of a referral that is open
or closed less than PARCOURS_RELATIONSHIP_GRACE_DAYS ago) **and** a **basis** for that category
(legal basis for its kind, an agreement with the owner that every party accepted, or the
person's consent). A receiver only ever gets the categories the sender chose to share. Health and
justice come only from consent. The result is written as guardian direct-FK object permissions
on the pathway, granted to the organisation's Group; break-glass grants go to the user.

Every service that changes a relationship, a basis or a consent calls `access_recompute` in its
own transaction, so a change is effective at the next request.

Retention (docs/retention.md): an archived pathway is granted to its owner organisation only,
read-only (no change permission, no break-glass); an anonymised one to nobody.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from ..bases import legal_categories
from ..categories import (
    ALL_CATEGORIES,
    SENSITIVE_CATEGORIES,
    permission_codename,
)
from ..models import (
    Agreement,
    BreakGlass,
    Consent,
    Objection,
    Organisation,
    Pathway,
    PathwayGroupObjectPermission,
    PathwayUserObjectPermission,
    Person,
)
from ..models.grant import CHANGE_PERMISSION, permission_ids
from ..selectors.relationships import earlier_end, later_end, relationships_of


@dataclass
class Basis:
    codes: set[str] = field(default_factory=set)
    until: dt.datetime | None = None

    def add(self, code: str, until: dt.datetime | None) -> None:
        self.until = until if not self.codes else later_end(self.until, until)
        self.codes.add(code)


def _end_of_day(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def active_consents(person: Person, *, now: dt.datetime) -> list[Consent]:
    """Consents in force now, none while the person objects."""
    if Objection.objects.filter(person=person, withdrawn_at__isnull=True).exists():
        return []
    today = timezone.localdate(now)
    return list(
        Consent.objects.filter(person=person, revoked_at__isnull=True, starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .prefetch_related("organisations")
    )


def bases_of(
    organisation: Organisation,
    *,
    pathway: Pathway,
    consents: list[Consent],
    agreements: list[Agreement],
    reasons: set[str],
) -> dict[str, Basis]:
    """Category → the bases that cover it for this organisation."""
    bases: dict[str, Basis] = {}
    if reasons & {"owner", "referent"}:
        # The organisation that holds the file processes it under its own mission.
        for category in ALL_CATEGORIES - SENSITIVE_CATEGORIES:
            bases.setdefault(category, Basis()).add(
                f"legal:{sorted(reasons & {'owner', 'referent'})[0]}", None
            )
    for category, codes in legal_categories(
        organisation_kind=organisation.kind, person=pathway.person
    ).items():
        for code in codes:
            bases.setdefault(category, Basis()).add(code, None)
    # Only agreements every party accepted reach here (`Agreement.objects.in_force_on`): one an
    # organisation did not accept never opens its pathways, nor opens others' to it.
    for agreement in agreements:
        party_ids = {p.pk for p in agreement.parties.all()}
        if organisation.pk in party_ids and pathway.owner_organisation_id in party_ids:
            for category in set(agreement.shared_categories) - SENSITIVE_CATEGORIES:
                bases.setdefault(category, Basis()).add(
                    f"agreement:{agreement.pk}", _end_of_day(agreement.ends_on)
                )
    for consent in consents:
        covered = organisation.kind in consent.organisation_kinds or any(
            o.pk == organisation.pk for o in consent.organisations.all()
        )
        if covered:
            for category in set(consent.categories) & ALL_CATEGORIES:
                bases.setdefault(category, Basis()).add(
                    f"consent:{consent.pk}", _end_of_day(consent.ends_on)
                )
    return bases


def effective_grants(pathway: Pathway, *, now: dt.datetime) -> dict[int, dict[str, Basis]]:
    """Organisation id → category → (basis codes, end): what the organisation may see now."""
    relations = relationships_of(pathway, now=now)
    if not relations:
        return {}
    organisations = Organisation.objects.in_bulk(list(relations))
    consents = active_consents(pathway.person, now=now)
    today = timezone.localdate(now)
    agreements = list(
        Agreement.objects.in_force_on(today)
        .filter(parties=pathway.owner_organisation_id)
        .prefetch_related("parties")
    )
    result: dict[int, dict[str, Basis]] = {}
    for org_id, relation in relations.items():
        bases = bases_of(
            organisations[org_id],
            pathway=pathway,
            consents=consents,
            agreements=agreements,
            reasons=relation.reasons,
        )
        granted: dict[str, Basis] = {}
        for category, basis in bases.items():
            if relation.cap is not None and category not in relation.cap:
                continue
            granted[category] = Basis(
                codes=set(basis.codes), until=earlier_end(basis.until, relation.until)
            )
        if granted:
            result[org_id] = granted
    return result


def basis_codes_for(
    organisation: Organisation, pathway: Pathway, *, now=None
) -> dict[str, set[str]]:
    """What bases this organisation would have on the pathway's person, relationship or not
    (used to check what a sender may share with a receiver)."""
    now = now or timezone.now()
    consents = active_consents(pathway.person, now=now)
    today = timezone.localdate(now)
    agreements = list(
        Agreement.objects.in_force_on(today)
        .filter(parties=organisation)
        .prefetch_related("parties")
    )
    bases = bases_of(
        organisation, pathway=pathway, consents=consents, agreements=agreements, reasons=set()
    )
    return {category: basis.codes for category, basis in bases.items()}


def access_recompute(*, pathway_id: int) -> None:
    """Bring the pathway's permission rows in line with its relationships, bases and consents.
    Call inside the transaction of the change; idempotent."""
    pathway = Pathway.objects.select_related("person").get(pk=pathway_id)
    now = timezone.now()
    ids = permission_ids()
    grants = {} if pathway.anonymised_at is not None else effective_grants(pathway, now=now)
    if pathway.archived_at is not None:
        grants = {k: v for k, v in grants.items() if k == pathway.owner_organisation_id}
    groups = dict(Organisation.objects.values_list("pk", "group_id").filter(pk__in=grants.keys()))
    desired: dict[tuple[int, int], tuple[dt.datetime | None, str]] = {}
    for org_id, categories in grants.items():
        group_id = groups[org_id]
        for category, basis in categories.items():
            codes = " ".join(sorted(basis.codes))
            desired[(group_id, ids[permission_codename(category)])] = (basis.until, codes)
        if "pathway" in categories and pathway.archived_at is None:
            basis = categories["pathway"]
            desired[(group_id, ids[CHANGE_PERMISSION])] = (
                basis.until,
                " ".join(sorted(basis.codes)),
            )
    _apply(PathwayGroupObjectPermission, "group_id", pathway, desired)

    user_desired: dict[tuple[int, int], tuple[dt.datetime | None, str]] = {}
    exceptional = BreakGlass.objects.filter(pathway=pathway, ends_at__gt=now)
    for grant in exceptional if pathway.archived_at is None else ():
        key = (grant.user_id, ids[permission_codename(grant.category)])
        previous = user_desired.get(key)
        until = grant.ends_at if previous is None else later_end(previous[0], grant.ends_at)
        user_desired[key] = (until, f"break_glass:{grant.pk}")
    _apply(PathwayUserObjectPermission, "user_id", pathway, user_desired)


def _apply(model, holder: str, pathway: Pathway, desired) -> None:
    existing = {
        (getattr(row, holder), row.permission_id): row
        for row in model.objects.filter(content_object=pathway)
    }
    stale = [row.pk for key, row in existing.items() if key not in desired]
    if stale:
        model.objects.filter(pk__in=stale).delete()
    for key, (until, basis) in desired.items():
        row = existing.get(key)
        if row is None:
            model.objects.create(
                **{holder: key[0]},
                permission_id=key[1],
                content_object=pathway,
                valid_until=until,
                basis=basis,
            )
        elif row.valid_until != until or row.basis != basis:
            row.valid_until, row.basis = until, basis
            row.save(update_fields=["valid_until", "basis"])


def access_prune_expired(*, now: dt.datetime | None = None) -> int:
    """Delete grant rows past their end (they are already ignored by every read) and recompute
    pathways whose consents ended, so bases with no end-date row are re-derived. Idempotent."""
    now = now or timezone.now()
    pathway_ids = set(
        PathwayGroupObjectPermission.objects.filter(valid_until__lte=now).values_list(
            "content_object_id", flat=True
        )
    ) | set(
        PathwayUserObjectPermission.objects.filter(valid_until__lte=now).values_list(
            "content_object_id", flat=True
        )
    )
    for pathway_id in sorted(pathway_ids):
        access_recompute(pathway_id=pathway_id)
    return len(pathway_ids)
