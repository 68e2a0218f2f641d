"""Rights requests (GDPR arts. 15–21) recorded and answered by the DPO.

The request carries the legal due date (one month, extendable once by two months: art. 12.3);
deciding it applies its effect through the usual services: an objection is recorded (no
consent-based visibility remains), an erasure anonymises the person where the law allows
(`retention`'s anonymisation), a rectification is done by the case workers in the edit flows.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..actor import Actor
from ..dates import EARLIEST_REPORT_DAY, add_months
from ..errors import Conflict, InvalidInput
from ..gate.journal import journal_record
from ..models import (
    RIGHTS_REQUEST_MOVES,
    AccessOperation,
    Objection,
    RightsRequest,
    RightsRequestKind,
    RightsRequestStatus,
)
from .consent import objection_save
from .dpo_reports import require_dpo
from .erasure import person_erase_now
from .history import save_with_history

ANSWER_MONTHS = 1
EXTENSION_MONTHS = 2


@transaction.atomic
def rights_request_record(
    *,
    actor: Actor,
    person_id: int,
    kind: str,
    received_on: dt.date,
    channel: str,
    details: str = "",
) -> RightsRequest:
    """Record a request received by the actor's organisation. Preconditions: the actor is a
    DPO and the person is related to their organisation (else DoesNotExist: 404)."""
    require_dpo(actor)
    person = access.persons_reportable_by(actor).get(pk=person_id)
    if received_on > timezone.localdate():
        message = _("La date de réception ne peut pas être future.")
        raise InvalidInput(message, fields={"received_on": [message]})
    if received_on < EARLIEST_REPORT_DAY:  # a typing error (the year), not a late recording
        message = _("La date de réception doit être postérieure au %(day)s.") % {
            "day": f"{EARLIEST_REPORT_DAY:%d/%m/%Y}"
        }
        raise InvalidInput(message, fields={"received_on": [message]})
    request = RightsRequest(
        person=person,
        organisation=actor.organisation,
        kind=kind,
        channel=channel,
        received_on=received_on,
        due_on=add_months(received_on, ANSWER_MONTHS),
        details=details.strip(),
        recorded_by=actor.user,
    )
    save_with_history(request, actor=actor, reason=_("Demande d'exercice de droits reçue"))
    journal_record(
        actor=actor,
        operation=AccessOperation.WRITE,
        object_type="rights_request",
        object_id=request.pk,
        person_id=person.pk,
        purpose=f"Demande d'exercice de droits : {request.get_kind_display()}",
    )
    return request


def _locked(actor: Actor, request_id: int) -> RightsRequest:
    require_dpo(actor)
    return (
        access.rights_requests_visible_to(actor)
        .select_for_update(of=("self",))
        .select_related("person")
        .get(pk=request_id)
    )


@transaction.atomic
def rights_request_extend(*, actor: Actor, request_id: int, reason: str) -> RightsRequest:
    """Extend the due date once by two months (complex or numerous requests), with a reason."""
    request = _locked(actor, request_id)
    if request.status != RightsRequestStatus.RECEIVED:
        raise Conflict(_("Cette demande est déjà traitée."))
    if request.extended_at is not None:
        raise Conflict(_("Le délai de réponse a déjà été prolongé une fois."))
    if not reason.strip():
        message = _("Indiquez le motif de la prolongation.")
        raise InvalidInput(message, fields={"reason": [message]})
    request.extended_at = timezone.now()
    request.extension_reason = reason.strip()
    request.due_on = add_months(request.received_on, ANSWER_MONTHS + EXTENSION_MONTHS)
    save_with_history(request, actor=actor, reason=_("Délai de réponse prolongé"))
    return request


@transaction.atomic
def rights_request_decide(
    *, actor: Actor, request_id: int, status: str, decision: str
) -> RightsRequest:
    """Answer the request (RIGHTS_REQUEST_MOVES). Granting an objection records it; granting
    an erasure anonymises the person now (where the law allows: the DPO decides, a refusal
    states the legal obligation that keeps the data). A refusal needs its reason."""
    request = _locked(actor, request_id)
    if status not in RIGHTS_REQUEST_MOVES.get(request.status, frozenset()):
        raise Conflict(
            _("Cette demande est à l'état « %(current)s » : elle ne peut plus être traitée.")
            % {"current": request.get_status_display()}
        )
    if not decision.strip():
        message = _("Indiquez la réponse apportée à la personne.")
        raise InvalidInput(message, fields={"decision": [message]})
    if status == RightsRequestStatus.GRANTED:
        _apply(actor, request)
    request.status = status
    request.decision = decision.strip()
    request.decided_at = timezone.now()
    request.decided_by = actor.user
    save_with_history(request, actor=actor, reason=_("Demande d'exercice de droits traitée"))
    journal_record(
        actor=actor,
        operation=AccessOperation.WRITE,
        object_type="rights_request",
        object_id=request.pk,
        person_id=request.person_id,
        purpose=f"Réponse à la demande : {request.get_kind_display()}",
        detail={"status": status},
    )
    return request


def _apply(actor: Actor, request: RightsRequest) -> None:
    if request.kind == RightsRequestKind.OBJECTION:
        if not Objection.objects.filter(person=request.person, withdrawn_at__isnull=True).exists():
            objection_save(
                person=request.person,
                actor=actor,
                reason=f"Demande d'opposition n°{request.pk}",
            )
    elif request.kind == RightsRequestKind.ERASURE:
        person_erase_now(person_id=request.person_id, now=timezone.now())
