"""Recompute the materialised access rights of one pathway.

An organisation sees a category of a pathway when it has a **relationship** with the pathway
(owner, référent's organisation, care-team member, sender or receiver of a referral that is open
or closed less than PARCOURS_RELATIONSHIP_GRACE_DAYS ago) **and** a **basis** for that category
(legal basis for its kind, an agreement with the owner that every party accepted, or the
person's consent). A receiver only ever gets the categories the sender chose to share. Health and
justice come only from consent. The result is written as guardian direct-FK object permissions
on the pathway, granted to the organisation's Group; break-glass grants go to the user.

Every service that changes a relationship, a basis or a consent calls `access_recompute` in its
own transaction, so a change is effective at the next request. Each basis is written with its
interval (`models/grant.py`): a consent or an agreement that starts later is a row from its first
day, so it opens on time without any job, and ends on its last day; a legal basis with an age
condition ends on the birthday. Each basis is clipped to each reason's span of the relationship
that carries its category (the reasons are never merged: a closed referral's grace ends with its
own cap), so a row's `relations` are the reasons it is held for. The two parties of an open
referral keep identity and the pathway under `referral:<id>` until the referral ends (ADR 0010).

Retention (docs/retention.md): an archived pathway is granted to its owner organisation only,
read-only (no change permission, no break-glass); an anonymised one to nobody.
"""

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..access import PERSONAL_GRANTS
from ..bases import legal_covers
from ..categories import (
    ALL_CATEGORIES,
    REFERRAL_MINIMUM,
    SENSITIVE_CATEGORIES,
    permission_codename,
)
from ..models import (
    OPEN_REFERRAL_STATUSES,
    Agreement,
    BreakGlass,
    Consent,
    Objection,
    Organisation,
    Pathway,
    PathwayGroupObjectPermission,
    PathwayUserObjectPermission,
    PendingRecompute,
    Person,
)
from ..models.grant import CHANGE_PERMISSION, permission_ids
from ..request_memo import forget
from ..selectors.relationships import Span, earlier_end, relationships_of

logger = logging.getLogger(__name__)

# pg_try_advisory_lock key of the pending recompute ("precompu" as a bigint): one runner at once.
RECOMPUTE_LOCK_KEY = int.from_bytes(b"precompu", "big") & 0x7FFF_FFFF_FFFF_FFFF
# Passes over the marks per run: marks renewed faster than this are left to the next run.
RECOMPUTE_MAX_ROUNDS = 5
# How often a run records how far it got (pathways): a run stopped by its time budget, or
# killed, loses at most this much work.
RECOMPUTE_PROGRESS_EVERY = 200


@dataclass(frozen=True)
class Cover:
    """One basis covering one category from `start` (None: already) until `end` (None: no end)."""

    code: str
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def clipped(self, until: dt.datetime | None, now: dt.datetime) -> "Cover | None":
        """The cover within a relationship that ends at `until`; None if nothing is left."""
        start = self.start if self.start is not None and self.start > now else None
        end = earlier_end(self.end, until)
        if end is not None and (end <= now or (start is not None and start >= end)):
            return None
        return Cover(self.code, start, end)


def _start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _end_of_day(day: dt.date | None) -> dt.datetime | None:
    # The calendar's last day has no next one (OverflowError, a 500 on every recompute of the
    # pathway, issue 13): a consent or agreement that ends then never ends.
    if day is None or day == dt.date.max:
        return None
    return _start_of_day(day + dt.timedelta(days=1))


def _dated(code: str, starts_on: dt.date | None, ends_on: dt.date | None) -> Cover:
    return Cover(code, _start_of_day(starts_on) if starts_on else None, _end_of_day(ends_on))


def consents_in_force_or_later(person: Person, *, now: dt.datetime) -> list[Consent]:
    """Consents not revoked and not over: in force now or starting later. None while the
    person objects (the objection ends every consent-based visibility until it is withdrawn)."""
    if Objection.objects.filter(person=person, withdrawn_at__isnull=True).exists():
        return []
    today = timezone.localdate(now)
    return list(
        Consent.objects.filter(person=person, revoked_at__isnull=True)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .prefetch_related("organisations")
    )


def agreements_in_force_or_later(organisation_id: int, *, now: dt.datetime) -> list[Agreement]:
    """Agreements of this organisation accepted by every party and not over: in force now or
    starting later (their grant rows then start on their first day)."""
    today = timezone.localdate(now)
    return list(
        Agreement.objects.accepted_by_every_party()
        .filter(parties=organisation_id)
        .exclude(ends_on__lt=today)
        .prefetch_related("parties")
    )


def bases_of(
    organisation: Organisation,
    *,
    pathway: Pathway,
    consents: list[Consent],
    agreements: list[Agreement],
    reasons: set[str],
    now: dt.datetime,
    referral_ids: set[int] = frozenset(),  # type: ignore[assignment]
) -> dict[str, list[Cover]]:
    """Category → the bases that cover it for this organisation, each with its interval."""
    bases: dict[str, list[Cover]] = defaultdict(list)
    if reasons & {"owner", "referent"}:
        # The organisation that holds the file processes it under its own mission.
        code = f"legal:{sorted(reasons & {'owner', 'referent'})[0]}"
        for category in ALL_CATEGORIES - SENSITIVE_CATEGORIES:
            bases[category].append(Cover(code))
    # A legal basis with an age condition ends on the birthday (a row with that end).
    for category, codes in legal_covers(
        organisation_kind=organisation.kind, person=pathway.person, on=timezone.localdate(now)
    ).items():
        for code, ends_on in codes.items():
            bases[category].append(Cover(code, None, _start_of_day(ends_on) if ends_on else None))
    # Only agreements every party accepted reach here (`agreements_in_force_or_later`): one an
    # organisation did not accept never opens its pathways, nor opens others' to it.
    for agreement in agreements:
        party_ids = {p.pk for p in agreement.parties.all()}
        if organisation.pk in party_ids and pathway.owner_organisation_id in party_ids:
            for category in set(agreement.shared_categories) - SENSITIVE_CATEGORIES:
                bases[category].append(
                    _dated(f"agreement:{agreement.pk}", agreement.starts_on, agreement.ends_on)
                )
    for consent in consents:
        covered = organisation.kind in consent.organisation_kinds or any(
            o.pk == organisation.pk for o in consent.organisations.all()
        )
        if covered:
            for category in set(consent.categories) & ALL_CATEGORIES:
                bases[category].append(
                    _dated(f"consent:{consent.pk}", consent.starts_on, consent.ends_on)
                )
    # The two parties of an open referral keep whom and why — the minimum to answer it and to
    # follow it — whatever happens to the consent that allowed sending it (ADR 0010): a
    # revocation must not leave a referral nobody can see while the person is on the way.
    for referral_id in sorted(referral_ids):
        for category in REFERRAL_MINIMUM:
            bases[category].append(Cover(f"referral:{referral_id}"))
    return dict(bases)


@dataclass(frozen=True)
class Held:
    """A basis covering a category within one reason's span (clipped to it): a share of a
    grant row, whose `relations` are the reasons of the shares it holds."""

    cover: Cover
    reason: str


@dataclass(frozen=True)
class OrganisationGrants:
    relations: frozenset[str]
    covers: dict[str, list[Held]]  # category → each basis within each reason's span


def _within(spans: list[Span], category: str, found: list[Cover], now: dt.datetime) -> list[Held]:
    """The covers of a category within each span that carries it, each clipped to that span:
    a closed referral's grace ends with its own cap, never stretched by another reason."""
    return [
        Held(kept, span.reason)
        for span in spans
        if span.allows(category)
        for kept in (cover.clipped(span.until, now) for cover in found)
        if kept is not None
    ]


def effective_grants(pathway: Pathway, *, now: dt.datetime) -> dict[int, OrganisationGrants]:
    """Organisation id → what it may see of the pathway, now and later (category → intervals)."""
    relations = relationships_of(pathway, now=now)
    if not relations:
        return {}
    organisations = Organisation.objects.in_bulk(list(relations))
    consents = consents_in_force_or_later(pathway.person, now=now)
    agreements = agreements_in_force_or_later(pathway.owner_organisation_id, now=now)
    open_referrals: dict[int, set[int]] = defaultdict(set)
    for referral in pathway.referrals.all():
        if referral.status in OPEN_REFERRAL_STATUSES and referral.status != "draft":
            open_referrals[referral.sender_organisation_id].add(referral.pk)
            open_referrals[referral.receiver_organisation_id].add(referral.pk)
    result: dict[int, OrganisationGrants] = {}
    for org_id, relation in relations.items():
        bases = bases_of(
            organisations[org_id],
            pathway=pathway,
            consents=consents,
            agreements=agreements,
            reasons=relation.reasons,
            now=now,
            referral_ids=open_referrals.get(org_id, set()),
        )
        covers: dict[str, list[Held]] = {}
        for category, found in bases.items():
            kept = _within(relation.spans, category, found, now)
            if kept:
                covers[category] = kept
        if covers:
            result[org_id] = OrganisationGrants(frozenset(relation.reasons), covers)
    return result


def in_force(covers: list[Cover], now: dt.datetime) -> list[Cover]:
    return [
        c for c in covers if (c.start is None or c.start <= now) and (c.end is None or c.end > now)
    ]


def basis_codes_for(
    organisation: Organisation, pathway: Pathway, *, now=None
) -> dict[str, set[str]]:
    """What bases in force this organisation would have on the pathway's person, relationship
    or not (used to check what a sender may share with a receiver). The holder of the file (the
    pathway's owner or référent's organisation) holds it under its own mission, whoever sends
    the person to it."""
    now = now or timezone.now()
    holds = {
        reason
        for reason, holder in (
            ("owner", pathway.owner_organisation_id),
            ("referent", pathway.referent_organisation_id),
        )
        if holder == organisation.pk
    }
    bases = bases_of(
        organisation,
        pathway=pathway,
        consents=consents_in_force_or_later(pathway.person, now=now),
        agreements=agreements_in_force_or_later(organisation.pk, now=now),
        reasons=holds,
        now=now,
    )
    codes = {
        category: {c.code for c in in_force(covers, now)} for category, covers in bases.items()
    }
    return {category: found for category, found in codes.items() if found}


Key = tuple[int, int, dt.datetime | None, dt.datetime | None]  # holder, permission, from, until


Interval = tuple[dt.datetime | None, dt.datetime | None]


def _rows(held: list[Held]) -> dict[Interval, tuple[set[str], set[str]]]:
    """Covers grouped by interval: one grant row per interval, with every basis it holds and
    the reasons (relations) it holds them for."""
    rows: dict[Interval, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for share in held:
        codes, reasons = rows[(share.cover.start, share.cover.end)]
        codes.add(share.cover.code)
        reasons.add(share.reason)
    return rows


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
    desired: dict[Key, tuple[str, str]] = {}
    for org_id, granted in grants.items():
        group_id = groups[org_id]
        for category, held in granted.covers.items():
            for (start, end), (codes, reasons) in _rows(held).items():
                basis = " ".join(sorted(codes))
                relations = " ".join(sorted(reasons))
                desired[(group_id, ids[permission_codename(category)], start, end)] = (
                    basis,
                    relations,
                )
                if category == "pathway" and pathway.archived_at is None:
                    desired[(group_id, ids[CHANGE_PERMISSION], start, end)] = (basis, relations)
    _apply(PathwayGroupObjectPermission, "group_id", pathway, desired)

    user_desired: dict[Key, tuple[str, str]] = {}
    exceptional = BreakGlass.objects.filter(pathway=pathway, ends_at__gt=now)
    for grant in exceptional if pathway.archived_at is None else ():
        start = grant.starts_at if grant.starts_at > now else None
        key = (grant.user_id, ids[permission_codename(grant.category)], start, grant.ends_at)
        codes = {*user_desired.get(key, ("", ""))[0].split(), f"break_glass:{grant.pk}"}
        user_desired[key] = (" ".join(sorted(codes)), "break_glass")
    _apply(PathwayUserObjectPermission, "user_id", pathway, user_desired)
    forget(PERSONAL_GRANTS)  # a page that opened a break-glass reads its new grants


def _apply(model, holder: str, pathway: Pathway, desired: dict[Key, tuple[str, str]]) -> None:
    existing = {
        (getattr(row, holder), row.permission_id, row.valid_from, row.valid_until): row
        for row in model.objects.filter(content_object=pathway)
    }
    stale = [row.pk for key, row in existing.items() if key not in desired]
    if stale:
        model.objects.filter(pk__in=stale).delete()
    # One INSERT and one UPDATE for the pathway's rows, not a statement per row: guardian's
    # `save` also read each row's permission and content type to check them (three statements
    # a row), and the permissions here are the pathway's own (`permission_ids`).
    created, changed = [], []
    for key, (basis, relations) in desired.items():
        row = existing.get(key)
        if row is None:
            created.append(
                model(
                    **{holder: key[0]},
                    permission_id=key[1],
                    content_object=pathway,
                    valid_from=key[2],
                    valid_until=key[3],
                    basis=basis,
                    relations=relations,
                )
            )
        elif row.basis != basis or row.relations != relations:
            row.basis, row.relations = basis, relations
            changed.append(row)
    if created:
        model.objects.bulk_create(created)
    if changed:
        model.objects.bulk_update(changed, ["basis", "relations"])


def access_prune_expired(*, now: dt.datetime | None = None) -> int:
    """Tidy up: recompute the pathways that have grant rows past their end (every read already
    ignores them; the recompute deletes them and turns rows that started into "in force").
    Access never waits for this job: rows carry their own interval. Idempotent."""
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


def access_recompute_request(*, organisation_ids: Iterable[int]) -> None:
    """Mark these organisations' pathways for recompute, in the caller's transaction (the
    change that needs it): the mark commits with the change or not at all, and stays until a
    recompute has run after it. Renewing a mark that exists moves its `requested_at` and starts
    it over (what was recomputed before the change may be stale)."""
    now = timezone.now()
    PendingRecompute.objects.bulk_create(
        [
            PendingRecompute(organisation_id=pk, requested_at=now, done_up_to=0)
            for pk in sorted(set(organisation_ids))
        ],
        update_conflicts=True,
        unique_fields=["organisation"],
        update_fields=["requested_at", "done_up_to"],
    )


def _try_recompute_lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite (the local fallback of `make run`) serialises writers anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [RECOMPUTE_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _release_recompute_lock() -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [RECOMPUTE_LOCK_KEY])


@dataclass(frozen=True)
class RecomputeRun:
    count: int  # pathways recomputed
    finished: bool  # False: stopped by its time budget, marks left with their progress


def access_recompute_pending(*, budget_seconds: float | None = None) -> RecomputeRun:
    """Recompute every pathway owned by a marked organisation, each in its own transaction,
    then clear the marks that were not renewed meanwhile (a renewed one is done again).

    Bounded in time: past `budget_seconds` (default PARCOURS_RECOMPUTE_BUDGET_SECONDS) the run
    records how far each mark got and stops, `finished=False`; the next run goes on from there
    (the task queues it at the back of its queue, and the periodic run would find it anyway).
    A worker is never held for the whole of a large organisation's pathways.

    Idempotent (recomputing twice gives the same grants). One runner at a time: a run that
    finds another at work returns at once — the other re-reads the marks until none is left,
    and the periodic run takes any mark written as it finished."""
    budget = (
        settings.PARCOURS_RECOMPUTE_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    )
    deadline = time.monotonic() + budget
    if not _try_recompute_lock():
        return RecomputeRun(count=0, finished=True)
    count = 0
    finished = True
    try:
        for _round in range(RECOMPUTE_MAX_ROUNDS):
            marks = list(
                PendingRecompute.objects.order_by("organisation_id").values_list(
                    "organisation_id", "requested_at", "done_up_to"
                )
            )
            if not marks:
                break
            for organisation_id, requested_at, done_up_to in marks:
                done, completed = _recompute_mark(
                    organisation_id, requested_at, done_up_to, deadline
                )
                count += done
                if not completed:
                    finished = False
                    break
            if not finished:
                break
    finally:
        _release_recompute_lock()
    if count:
        logger.info(
            "access_recompute_pending: %d parcours recalculé(s)%s",
            count,
            "" if finished else " (budget de temps atteint : la suite au prochain passage)",
        )
    return RecomputeRun(count=count, finished=finished)


def _recompute_mark(
    organisation_id: int, requested_at, done_up_to: int, deadline: float
) -> tuple[int, bool]:
    """One organisation's pathways after `done_up_to`, until done or the deadline: (count,
    completed). Progress and completion are written only if the mark was not renewed meanwhile
    (`requested_at` unchanged): a renewed mark starts again at the next pass."""
    mark = PendingRecompute.objects.filter(
        organisation_id=organisation_id, requested_at=requested_at
    )
    pathway_ids = (
        Pathway.objects.filter(owner_organisation_id=organisation_id, pk__gt=done_up_to)
        .order_by("pk")
        .values_list("pk", flat=True)
        .iterator(chunk_size=2000)
    )
    count = 0
    last = done_up_to
    for pathway_id in pathway_ids:
        if count and time.monotonic() > deadline:  # at least one per run: always progress
            mark.update(done_up_to=last)
            return count, False
        with transaction.atomic():
            access_recompute(pathway_id=pathway_id)
        count += 1
        last = pathway_id
        if count % RECOMPUTE_PROGRESS_EVERY == 0:
            mark.update(done_up_to=last)
    mark.delete()
    return count, True
