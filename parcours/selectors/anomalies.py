"""Anomalies in the access journal, for the DPO: each finding comes with its evidence rows.

- volume: a user read many more distinct people's records in a day than usual — compared with
  their own daily median and their peers' (same organisation and role) over the previous
  `baseline_days`; flagged above `volume_factor` × the larger median and `volume_min_people`;
- off_hours: access outside working hours (Europe/Paris), at weekends or on public holidays;
- denials: at least `denials_per_day` refused accesses by one user in a day;
- break_glass: every exceptional access;
- access_request_refused: every access request the owner organisation refused;
- lockout: every account locked after repeated failed sign-ins (password or second-factor code),
  with the failures that led to it;
- sign_in_failures: at least `denials_per_day` failed sign-ins of one account in a day;
- second_factor_removed: every second factor removed (by its owner or an administrator).

The sign-in events belong to no organisation (nobody acts for one before signing in): an
organisation's DPO sees those of its members' accounts; a name that matches no account is seen
by a DPO whose reports cover every organisation.

Thresholds come from settings (PARCOURS_ANOMALY_*) and may be overridden per report.
"""

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from typing import TextIO
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import ExtractHour, TruncDate

from ..labels import basis_label
from ..models import (
    AccessEvent,
    AccessOperation,
    AccessRequest,
    AccessRequestStatus,
    Membership,
)
from ..spreadsheet import csv_writer
from ..working_days import is_working_day
from .access_reports import category_labels, staff_label
from .user_activity import event_record_label

EVIDENCE_LIMIT = 200
# Operations that open a person's data (a list shows many records at once: not a "read").
PERSON_READS = (AccessOperation.READ, AccessOperation.EXPORT)
ACTIVITY = (
    AccessOperation.READ,
    AccessOperation.LIST,
    AccessOperation.WRITE,
    AccessOperation.EXPORT,
    AccessOperation.BREAK_GLASS,
)

ANOMALY_KINDS: dict[str, str] = {
    "volume": "Volume inhabituel de dossiers consultés",
    "off_hours": "Accès en dehors des heures ouvrées",
    "denials": "Refus d'accès répétés",
    "break_glass": "Accès d'urgence",
    "access_request_refused": "Demande d'accès refusée",
    "lockout": "Compte verrouillé après des échecs de connexion",
    "sign_in_failures": "Échecs de connexion répétés",
    "second_factor_removed": "Double authentification retirée",
}
SIGN_IN_FAILURES = (AccessOperation.LOGIN_FAILED, AccessOperation.OTP_FAILED)


@dataclass(frozen=True)
class AnomalyThresholds:
    volume_factor: float
    volume_min_people: int
    baseline_days: int
    working_hours_start: int
    working_hours_end: int
    denials_per_day: int

    @classmethod
    def from_settings(cls, **overrides: float | int | None) -> "AnomalyThresholds":
        thresholds = cls(
            volume_factor=settings.PARCOURS_ANOMALY_VOLUME_FACTOR,
            volume_min_people=settings.PARCOURS_ANOMALY_VOLUME_MIN_PEOPLE,
            baseline_days=settings.PARCOURS_ANOMALY_BASELINE_DAYS,
            working_hours_start=settings.PARCOURS_WORKING_HOURS_START,
            working_hours_end=settings.PARCOURS_WORKING_HOURS_END,
            denials_per_day=settings.PARCOURS_ANOMALY_DENIALS_PER_DAY,
        )
        given = {name: value for name, value in overrides.items() if value is not None}
        return replace(thresholds, **given)  # type: ignore[arg-type]


# The thresholds a report may override (API parameters, page fields): the dataclass's fields.
THRESHOLD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(AnomalyThresholds))


@dataclass(frozen=True)
class EvidenceRow:
    event_id: int
    occurred_at: dt.datetime
    organisation: str
    user: str
    operation: str
    record: str
    person: str
    categories: str
    basis: str


@dataclass
class Anomaly:
    kind: str
    user_id: int | None
    user_name: str
    organisation: str
    day: dt.date | None
    summary: str
    evidence: list[EvidenceRow] = field(default_factory=list)
    evidence_total: int = 0

    @property
    def label(self) -> str:
        return ANOMALY_KINDS[self.kind]


def _paris() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


# What an evidence row shows: the journal row's own columns and two names, nothing else loaded.
EVIDENCE_FIELDS = (
    "id",
    "occurred_at",
    "user_id",
    "organisation_id",
    "operation",
    "object_type",
    "object_id",
    "object_ids",
    "person_id",
    "categories",
    "purpose",
    "basis",
    "detail",
    "user__first_name",
    "user__last_name",
    "user__username",
    "organisation__name",
)


def _with_names(events: QuerySet[AccessEvent]) -> QuerySet[AccessEvent]:
    return events.select_related("user", "organisation").only(*EVIDENCE_FIELDS)


def _scoped(
    start: dt.datetime, end: dt.datetime, organisation_ids: list[int] | None
) -> QuerySet[AccessEvent]:
    events = AccessEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    if organisation_ids is not None:
        events = events.filter(organisation_id__in=organisation_ids)
    return events


def _evidence(event: AccessEvent) -> EvidenceRow:
    return EvidenceRow(
        event_id=event.pk,
        occurred_at=event.occurred_at,
        organisation=event.organisation.name if event.organisation else "—",
        user=staff_label(event, named=True),
        operation=str(AccessOperation(event.operation).label),
        record=event_record_label(event),
        person=f"personne n°{event.person_id}" if event.person_id else "",
        categories=category_labels(event.categories),
        basis=basis_label(event.basis),
    )


def _user_name(event: AccessEvent) -> str:
    return staff_label(event, named=True)


def _grouped_by_user_day(events: Iterable[AccessEvent]) -> dict[tuple, list[AccessEvent]]:
    paris = _paris()
    groups: dict[tuple, list[AccessEvent]] = defaultdict(list)
    for event in events:
        day = event.occurred_at.astimezone(paris).date()
        groups[(event.user_id, event.organisation_id, day)].append(event)
    return groups


def _finding(kind: str, events: list[AccessEvent], day: dt.date | None, summary: str) -> Anomaly:
    first = events[0]
    return Anomaly(
        kind=kind,
        user_id=first.user_id,
        user_name=_user_name(first),
        organisation=first.organisation.name if first.organisation else "—",
        day=day,
        summary=summary,
        evidence=[_evidence(e) for e in events[:EVIDENCE_LIMIT]],
        evidence_total=len(events),
    )


def _volume(
    start: dt.datetime,
    end: dt.datetime,
    organisation_ids: list[int] | None,
    thresholds: AnomalyThresholds,
) -> list[Anomaly]:
    paris = _paris()
    baseline = dt.timedelta(days=thresholds.baseline_days)
    daily = (
        _scoped(start - baseline, end, organisation_ids)
        .filter(operation__in=PERSON_READS, person_id__isnull=False, user__isnull=False)
        .annotate(day=TruncDate("occurred_at", tzinfo=paris))
        .values("user_id", "organisation_id", "day")
        .annotate(people=Count("person_id", distinct=True))
    )
    counts: dict[tuple[int, int], dict[dt.date, int]] = defaultdict(dict)
    for row in daily:
        counts[(row["user_id"], row["organisation_id"])][row["day"]] = row["people"]
    roles = dict(
        ((m["user_id"], m["organisation_id"]), m["role"])
        for m in Membership.objects.filter(
            user_id__in={u for u, _ in counts}, organisation_id__in={o for _, o in counts}
        ).values("user_id", "organisation_id", "role")
    )
    peers: dict[tuple[int, str | None], list[int]] = defaultdict(list)
    for user_id, organisation_id in counts:
        peers[(organisation_id, roles.get((user_id, organisation_id)))].append(user_id)
    first_day, last_day = start.astimezone(paris).date(), end.astimezone(paris).date()

    def median_before(series: dict[dt.date, int], day: dt.date) -> float | None:
        window = [n for d, n in series.items() if day - baseline <= d < day]
        return statistics.median(window) if window else None

    flagged: list[tuple[int, int, dt.date, int, float | None, float | None]] = []
    for (user_id, organisation_id), series in counts.items():
        group = peers[(organisation_id, roles.get((user_id, organisation_id)))]
        for day, people in series.items():
            if not first_day <= day <= last_day or people < thresholds.volume_min_people:
                continue
            own = median_before(series, day)
            peer_days = [
                n
                for peer in group
                if peer != user_id
                for d, n in counts[(peer, organisation_id)].items()
                if day - baseline <= d < day
            ]
            peer = statistics.median(peer_days) if peer_days else None
            reference = max(m for m in (own, peer, 0.0) if m is not None)
            if people > thresholds.volume_factor * reference:
                flagged.append((user_id, organisation_id, day, people, own, peer))
    findings = []
    for user_id, organisation_id, day, people, own, peer in flagged:
        day_start = dt.datetime.combine(day, dt.time.min, tzinfo=paris)
        events = list(
            _with_names(
                AccessEvent.objects.filter(
                    user_id=user_id,
                    organisation_id=organisation_id,
                    operation__in=PERSON_READS,
                    occurred_at__gte=day_start,
                    occurred_at__lt=day_start + dt.timedelta(days=1),
                )
            ).order_by("occurred_at", "id")
        )
        usual = ", ".join(
            text
            for text in (
                f"sa médiane : {own:g}" if own is not None else "",
                f"médiane de ses pairs : {peer:g}" if peer is not None else "",
            )
            if text
        )
        summary = f"{people} personnes différentes consultées le {day:%d/%m/%Y}" + (
            f" ({usual})" if usual else " (aucun historique de comparaison)"
        )
        findings.append(_finding("volume", events, day, summary))
    return findings


def _off_hours(
    start: dt.datetime,
    end: dt.datetime,
    organisation_ids: list[int] | None,
    thresholds: AnomalyThresholds,
) -> list[Anomaly]:
    paris = _paris()
    candidates = (
        _scoped(start, end, organisation_ids)
        .filter(operation__in=ACTIVITY, user__isnull=False)
        .annotate(hour=ExtractHour("occurred_at", tzinfo=paris))
    )
    first_day, last_day = start.astimezone(paris).date(), end.astimezone(paris).date()
    days_off = [
        first_day + dt.timedelta(days=n)
        for n in range((last_day - first_day).days + 1)
        if not is_working_day(first_day + dt.timedelta(days=n))
    ]
    outside = Q(hour__lt=thresholds.working_hours_start) | Q(hour__gte=thresholds.working_hours_end)
    for day in days_off:
        day_start = dt.datetime.combine(day, dt.time.min, tzinfo=paris)
        outside |= Q(occurred_at__gte=day_start, occurred_at__lt=day_start + dt.timedelta(days=1))
    events = _with_names(candidates.filter(outside)).order_by("occurred_at", "id")
    findings = []
    for (_user, _org, day), group in _grouped_by_user_day(events).items():
        when = "jour non ouvré" if day in days_off else "en dehors des heures ouvrées"
        summary = (
            f"{len(group)} accès le {day:%d/%m/%Y} ({when}, de "
            f"{group[0].occurred_at.astimezone(paris):%H:%M} à "
            f"{group[-1].occurred_at.astimezone(paris):%H:%M})"
        )
        findings.append(_finding("off_hours", group, day, summary))
    return findings


def _denials(
    start: dt.datetime,
    end: dt.datetime,
    organisation_ids: list[int] | None,
    thresholds: AnomalyThresholds,
) -> list[Anomaly]:
    events = _with_names(
        _scoped(start, end, organisation_ids).filter(
            operation=AccessOperation.DENIED, user__isnull=False
        )
    ).order_by("occurred_at", "id")
    findings = []
    for (_user, _org, day), group in _grouped_by_user_day(events).items():
        if len(group) >= thresholds.denials_per_day:
            summary = f"{len(group)} accès refusés le {day:%d/%m/%Y}"
            findings.append(_finding("denials", group, day, summary))
    return findings


def _break_glasses(
    start: dt.datetime, end: dt.datetime, organisation_ids: list[int] | None
) -> list[Anomaly]:
    paris = _paris()
    events = _with_names(
        _scoped(start, end, organisation_ids).filter(operation=AccessOperation.BREAK_GLASS)
    ).order_by("occurred_at", "id")
    return [
        _finding(
            "break_glass",
            [event],
            event.occurred_at.astimezone(paris).date(),
            f"Accès d'urgence au dossier de la personne n°{event.person_id} — motif : "
            f"{event.purpose or 'non renseigné'}",
        )
        for event in events
    ]


def _refused_requests(
    start: dt.datetime, end: dt.datetime, organisation_ids: list[int] | None
) -> list[Anomaly]:
    paris = _paris()
    refused = AccessRequest.objects.filter(
        status=AccessRequestStatus.REFUSED, decided_at__gte=start, decided_at__lt=end
    )
    if organisation_ids is not None:
        refused = refused.filter(
            Q(requesting_organisation_id__in=organisation_ids)
            | Q(pathway__owner_organisation_id__in=organisation_ids)
        )
    refused = refused.select_related(
        "requesting_organisation", "requested_by", "pathway__owner_organisation"
    ).order_by("decided_at", "id")
    requests = list(refused)
    journaled: dict[int, list[AccessEvent]] = defaultdict(list)
    for event in _with_names(
        AccessEvent.objects.filter(
            operation=AccessOperation.ACCESS_REQUEST,
            object_type="pathway",
            object_id__in={r.pathway_id for r in requests},
            detail__access_request__in=[r.pk for r in requests],
        )
    ).order_by("occurred_at", "id"):
        journaled[int(event.detail["access_request"])].append(event)
    findings = []
    for request in requests:
        assert request.decided_at is not None
        requester = request.requested_by
        findings.append(
            Anomaly(
                kind="access_request_refused",
                user_id=requester.pk,
                user_name=requester.get_full_name() or requester.get_username(),
                organisation=request.requesting_organisation.name,
                day=request.decided_at.astimezone(paris).date(),
                summary=(
                    f"Demande d'accès n°{request.pk} au parcours n°{request.pathway_id} refusée "
                    f"par {request.pathway.owner_organisation.name} le "
                    f"{request.decided_at.astimezone(paris):%d/%m/%Y}"
                ),
                evidence=[_evidence(e) for e in journaled[request.pk]],
                evidence_total=len(journaled[request.pk]),
            )
        )
    return findings


def _security_scoped(
    start: dt.datetime, end: dt.datetime, organisation_ids: list[int] | None
) -> QuerySet[AccessEvent]:
    """The accounts' security events in the period, for the DPO's reach: their members'
    accounts (every account, and names that match none, for every organisation)."""
    events = AccessEvent.objects.filter(
        occurred_at__gte=start, occurred_at__lt=end, organisation__isnull=True
    )
    if organisation_ids is not None:
        events = events.filter(
            Exists(
                Membership.objects.filter(
                    user_id=OuterRef("user_id"), organisation_id__in=organisation_ids
                )
            )
        )
    return events


def _account_key(event: AccessEvent) -> tuple:
    return (event.user_id, "" if event.user_id else str((event.detail or {}).get("username", "")))


def _account_names(
    events: Iterable[AccessEvent], organisation_ids: list[int] | None
) -> dict[tuple, tuple[str, str]]:
    """(user id, unknown name) → (who, their organisations), for the findings' headings."""
    user_ids = {e.user_id for e in events if e.user_id}
    memberships = Membership.objects.filter(user_id__in=user_ids).select_related("organisation")
    if organisation_ids is not None:
        memberships = memberships.filter(organisation_id__in=organisation_ids)
    organisations: dict[int, list[str]] = defaultdict(list)
    for membership in memberships.order_by("organisation__name"):
        organisations[membership.user_id].append(membership.organisation.name)
    names = {}
    for event in events:
        key = _account_key(event)
        if key in names:
            continue
        if event.user_id:
            names[key] = (_user_name(event), ", ".join(organisations[event.user_id]) or "—")
        else:
            names[key] = (f"identifiant inconnu « {key[1]} »", "—")
    return names


def _security_finding(
    kind: str,
    events: list[AccessEvent],
    day: dt.date,
    summary: str,
    names: dict[tuple, tuple[str, str]],
) -> Anomaly:
    who, organisations = names[_account_key(events[-1])]
    return Anomaly(
        kind=kind,
        user_id=events[-1].user_id,
        user_name=who,
        organisation=organisations,
        day=day,
        summary=summary,
        evidence=[_evidence(e) for e in events[:EVIDENCE_LIMIT]],
        evidence_total=len(events),
    )


def _sign_in(
    start: dt.datetime,
    end: dt.datetime,
    organisation_ids: list[int] | None,
    thresholds: AnomalyThresholds,
) -> list[Anomaly]:
    paris = _paris()
    events = list(
        _with_names(
            _security_scoped(start, end, organisation_ids).filter(
                operation__in=(
                    *SIGN_IN_FAILURES,
                    AccessOperation.LOCKOUT,
                    AccessOperation.OTP_REMOVED,
                )
            )
        ).order_by("occurred_at", "id")
    )
    names = _account_names(events, organisation_ids)
    findings = []
    # Each lockout, with the failures of the same account from the same address before it
    # (back to the previous lockout): the ones that counted.
    before: dict[tuple, list[AccessEvent]] = defaultdict(list)
    for event in events:
        key = (*_account_key(event), event.client_ip)
        if event.operation in SIGN_IN_FAILURES:
            before[key].append(event)
        elif event.operation == AccessOperation.LOCKOUT:
            failures = before.pop(key, [])
            when = event.occurred_at.astimezone(paris)
            minutes = (event.detail or {}).get("cool_off_minutes")
            summary = (
                f"Connexion bloquée le {when:%d/%m/%Y} à {when:%H:%M} après "
                f"{(event.detail or {}).get('failures') or len(failures)} échecs depuis "
                f"l'adresse {event.client_ip or 'inconnue'}"
                + (f", pour {minutes} minutes" if minutes else "")
            )
            findings.append(
                _security_finding("lockout", [*failures, event], when.date(), summary, names)
            )
    by_day: dict[tuple, list[AccessEvent]] = defaultdict(list)
    for event in events:
        if event.operation in SIGN_IN_FAILURES:
            day = event.occurred_at.astimezone(paris).date()
            by_day[(*_account_key(event), day)].append(event)
    for (*_key, day), group in by_day.items():
        if len(group) >= thresholds.denials_per_day:
            codes = sum(1 for e in group if e.operation == AccessOperation.OTP_FAILED)
            addresses = len({e.client_ip for e in group})
            summary = (
                f"{len(group)} échecs de connexion le {day:%d/%m/%Y}"
                + (
                    f" (dont {codes} code{'s' if codes > 1 else ''} de vérification)"
                    if codes
                    else ""
                )
                + f", depuis {addresses} adresse{'s' if addresses > 1 else ''}"
            )
            findings.append(_security_finding("sign_in_failures", group, day, summary, names))
    for event in events:
        if event.operation == AccessOperation.OTP_REMOVED:
            when = event.occurred_at.astimezone(paris)
            by = (event.detail or {}).get("by")
            summary = f"Double authentification retirée le {when:%d/%m/%Y} à {when:%H:%M}" + (
                " par un administrateur" if by == "administrator" else " par son titulaire"
            )
            findings.append(
                _security_finding("second_factor_removed", [event], when.date(), summary, names)
            )
    return findings


def anomalies_report(
    *,
    start: dt.datetime,
    end: dt.datetime,
    organisation_ids: Iterable[int] | None = None,
    thresholds: AnomalyThresholds | None = None,
) -> list[Anomaly]:
    """Every finding in [start, end) for staff acting for `organisation_ids` (None: all),
    grouped by kind in the order of ANOMALY_KINDS, then by date."""
    scope = list(organisation_ids) if organisation_ids is not None else None
    limits = thresholds or AnomalyThresholds.from_settings()
    findings = (
        _volume(start, end, scope, limits)
        + _off_hours(start, end, scope, limits)
        + _denials(start, end, scope, limits)
        + _break_glasses(start, end, scope)
        + _refused_requests(start, end, scope)
        + _sign_in(start, end, scope, limits)
    )
    order = list(ANOMALY_KINDS)
    return sorted(findings, key=lambda a: (order.index(a.kind), a.day or dt.date.min, a.user_name))


CSV_COLUMNS = [
    "anomalie",
    "jour",
    "utilisateur",
    "organisation",
    "constat",
    "preuve : date",
    "preuve : opération",
    "preuve : dossier",
    "preuve : personne",
    "preuve : base",
    "ligne du journal",
]


def write_csv(findings: list[Anomaly], stream: TextIO) -> None:
    """One line per evidence row (a finding without evidence rows still has one line)."""
    writer = csv_writer(stream)
    writer.writerow(CSV_COLUMNS)
    for finding in findings:
        head = [
            finding.label,
            finding.day.isoformat() if finding.day else "",
            finding.user_name,
            finding.organisation,
            finding.summary,
        ]
        if not finding.evidence:
            writer.writerow([*head, "", "", "", "", "", ""])
        for row in finding.evidence:
            writer.writerow(
                [
                    *head,
                    row.occurred_at.isoformat(timespec="seconds"),
                    row.operation,
                    row.record,
                    row.person,
                    row.basis,
                    row.event_id,
                ]
            )
