"""The DPO's reports. Each generation is itself an access to personal data and is journaled
(operation `report`), with who asked, what, over which period. Scoping comes from
`parcours.access` (a person or user outside the DPO's reach raises DoesNotExist: 404).

The reports read from the read replica when there is one (`@replica_eligible`,
parcours/db_routing.py): they are the heavy reads, and a few seconds' lag is acceptable in them;
their journal row still goes to the primary, and a DPO who just wrote reads the primary."""

import datetime as dt

from django.db import transaction
from django.http import HttpRequest

from .. import access, gate
from ..actor import Actor
from ..db_routing import replica_eligible
from ..gate import Action
from ..gate.journal import journal_record
from ..models import AccessOperation
from ..queueing import enqueue_on_commit
from ..selectors.access_reports import AccessReport
from ..selectors.anomalies import Anomaly, AnomalyThresholds, anomalies_report
from ..selectors.journal_integrity import IntegrityStatus, journal_integrity_status
from ..selectors.processing_register import ProcessingRegister, processing_register
from ..selectors.user_activity import UserActivityReport, user_activity_report
from .access_reports import access_report_generate
from .subject_access import SubjectAccessPack, subject_access_pack_generate


def require_dpo(actor: Actor) -> None:
    """The DPO's reports and rights requests are the DPO's work only (the API and the pages
    refuse other roles first; this keeps every other caller honest)."""
    gate.require(actor, Action.DPO_REPORT)


def _period(start: dt.datetime, end: dt.datetime) -> dict[str, str]:
    return {"from": start.isoformat(), "to": end.isoformat()}


def _scope_ids(actor: Actor) -> list[int] | None:
    if access.reports_cover_every_organisation(actor):
        return None
    return list(access.organisations_reportable_by(actor).values_list("pk", flat=True))


@replica_eligible
@transaction.atomic
def dpo_person_report(
    *,
    actor: Actor,
    person_id: int,
    start: dt.datetime,
    end: dt.datetime,
    version: str,
    organisation_id: int | None = None,
    operation: str | None = None,
) -> AccessReport:
    require_dpo(actor)
    person = access.persons_reportable_by(actor).get(pk=person_id)
    return access_report_generate(
        actor=actor,
        person_id=person.pk,
        start=start,
        end=end,
        version=version,
        staff_named=access.staff_named_for(actor),
        organisation_id=organisation_id,
        operation=operation,
    )


@replica_eligible
@transaction.atomic
def dpo_user_report(
    *, actor: Actor, user_id: int, start: dt.datetime, end: dt.datetime
) -> UserActivityReport:
    require_dpo(actor)
    user = access.users_reportable_by(actor).get(pk=user_id)
    report = user_activity_report(
        user=user, start=start, end=end, organisation_ids=_scope_ids(actor)
    )
    journal_record(
        actor=actor,
        operation=AccessOperation.REPORT,
        object_type="user",
        object_id=user.pk,
        purpose="Rapport d'activité d'un utilisateur (enquête interne)",
        detail={**_period(start, end), "rows": len(report.rows)},
    )
    return report


@replica_eligible
@transaction.atomic
def dpo_anomalies_report(
    *,
    actor: Actor,
    start: dt.datetime,
    end: dt.datetime,
    thresholds: AnomalyThresholds | None = None,
) -> list[Anomaly]:
    require_dpo(actor)
    limits = thresholds or AnomalyThresholds.from_settings()
    findings = anomalies_report(
        start=start, end=end, organisation_ids=_scope_ids(actor), thresholds=limits
    )
    journal_record(
        actor=actor,
        operation=AccessOperation.REPORT,
        object_type="anomalies",
        purpose="Rapport des anomalies d'accès",
        detail={**_period(start, end), "findings": len(findings), "thresholds": vars(limits)},
    )
    return findings


@replica_eligible
@transaction.atomic
def dpo_integrity_report(*, actor: Actor, start: dt.datetime, end: dt.datetime) -> IntegrityStatus:
    require_dpo(actor)
    status = journal_integrity_status(start=start, end=end)
    journal_record(
        actor=actor,
        operation=AccessOperation.REPORT,
        object_type="journal",
        purpose="Rapport d'intégrité du journal",
        detail={**_period(start, end), "state": status.state},
    )
    return status


@replica_eligible
@transaction.atomic
def dpo_processing_register(*, actor: Actor) -> ProcessingRegister:
    require_dpo(actor)
    organisation = None if access.reports_cover_every_organisation(actor) else actor.organisation
    register = processing_register(organisation=organisation)
    journal_record(
        actor=actor,
        operation=AccessOperation.REPORT,
        object_type="register",
        purpose="Extrait du registre des traitements",
        detail={"scope": register.scope},
    )
    return register


@replica_eligible
def dpo_subject_access_pack(*, actor: Actor, person_id: int) -> SubjectAccessPack:
    """The person's subject-access pack (ZIP: PDF + JSON), generated by a DPO whose reach
    covers the person; the pack's own service journals the export."""
    require_dpo(actor)
    person = access.persons_reportable_by(actor).get(pk=person_id)
    return subject_access_pack_generate(person_id=person.pk, actor=actor)


@transaction.atomic
def dpo_journal_verification_request(*, actor: Actor, request: HttpRequest | None = None) -> None:
    """Queue a walk of the whole chain (it may take minutes; its result is stored and shown by
    the integrity report). The task is queued by name after commit (no service imports a task);
    if queueing fails, the request still stands — it is journaled — and the daily walk
    (beat `journal-verify-daily`) produces the next result."""
    require_dpo(actor)
    journal_record(
        actor=actor,
        operation=AccessOperation.REPORT,
        object_type="journal",
        purpose="Vérification du journal demandée",
        request=request,
    )
    who = actor.account.get_full_name() or actor.account.get_username()
    enqueue_on_commit(
        "parcours.journal_verify_daily",
        triggered_by=f"demandée par {who}",
        catch_up="the journal-verify-daily beat entry walks the chain tonight",
    )
