"""Demandes d'accès: asking the owner of a record found outside one's scope to be let in."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access, gate
from ..actor import Actor
from ..errors import Conflict, InvalidInput
from ..fields import blind_index, normalise_identifier
from ..gate import Action, Subject
from ..gate.journal import record_event
from ..gate.relations import relations_to_access_request
from ..models import AccessOperation, AccessRequest, AccessRequestStatus, Pathway, Person
from .care_team import care_team_join


@transaction.atomic
def access_request_create(
    *, actor: Actor, reason: str, nir: str = "", france_travail_id: str = ""
) -> AccessRequest:
    """Ask the owner organisation of the person holding this NIR or France Travail id to add the
    actor's organisation to the care team. Answers nothing about the record itself."""
    gate.require(actor, Action.ACCESS_REQUEST_CREATE)
    if not reason.strip():
        raise InvalidInput(
            _("Le motif est obligatoire."), fields={"reason": [_("Précisez le motif.")]}
        )
    # Searched through the blind indexes: the identifiers themselves are encrypted.
    identifiers = {
        "nir_index": blind_index("nir", normalise_identifier(nir)),
        "france_travail_id_index": blind_index(
            "france_travail_id", normalise_identifier(france_travail_id)
        ),
    }
    identifiers = {k: v for k, v in identifiers.items() if v}
    if not identifiers:
        raise InvalidInput(
            _("Indiquez le NIR ou l'identifiant France Travail de la personne."),
            fields={"nir": [_("NIR ou identifiant France Travail obligatoire.")]},
        )
    person = Person.objects.filter(**identifiers).first()
    # An archived pathway is seen by its owner only: asking to join it is like asking for none.
    pathway = (
        person.pathways.filter(status="open", archived_at__isnull=True).first() if person else None
    )
    if pathway is None:
        raise Pathway.DoesNotExist
    if AccessRequest.objects.filter(
        pathway=pathway, requesting_organisation=actor.organisation, status="pending"
    ).exists():
        raise Conflict(_("Une demande d'accès est déjà en attente pour ce dossier."))
    created = AccessRequest.objects.create(
        pathway=pathway,
        requesting_organisation=actor.organisation,
        requested_by=actor.account,
        reason=reason.strip(),
    )
    _journal(actor, Action.ACCESS_REQUEST_CREATE, created, purpose=created.reason)
    return created


def _journal(actor: Actor, action: Action, request: AccessRequest, **fields) -> None:
    record_event(
        actor,
        AccessOperation.ACCESS_REQUEST,
        action=action,
        object_type="pathway",
        object_id=request.pathway_id,
        person_id=request.pathway.person_id,
        detail={"access_request": request.pk, **fields.pop("detail", {})},
        **fields,
    )


def _decide(actor: Actor, request_id: int, status: str, comment: str) -> AccessRequest:
    # Scoped like the read (access.access_requests_visible_to): a DPO or an administrator of
    # the owner does not see the request, so deciding on it is "not found" (404); the
    # organisation that asked sees it but may not answer its own request (403).
    request = gate.locate(
        actor,
        access.access_requests_visible_to(actor).select_for_update().select_related("pathway"),
        request_id,
        action=Action.ACCESS_REQUEST_DECIDE,
    )
    gate.require(
        actor,
        Action.ACCESS_REQUEST_DECIDE,
        relations=relations_to_access_request(actor, request),
        subject=Subject("access_request", request.pk, request.pathway.person_id),
    )
    if request.status != AccessRequestStatus.PENDING:
        raise Conflict(_("Cette demande a déjà reçu une réponse."))
    request.status = status
    request.decided_at = timezone.now()
    request.decided_by = actor.user
    request.decision_comment = comment.strip()
    request.save()
    _journal(
        actor,
        Action.ACCESS_REQUEST_DECIDE,
        request,
        purpose=str(gate.RULES[Action.ACCESS_REQUEST_DECIDE].label),
        detail={"decision": request.status},
    )
    return request


@transaction.atomic
def access_request_accept(*, actor: Actor, request_id: int, comment: str = "") -> AccessRequest:
    """The owner lets the requesting organisation in: it joins the care team."""
    request = _decide(actor, request_id, AccessRequestStatus.ACCEPTED, comment)
    pathway = Pathway.objects.select_for_update(of=("self",)).get(pk=request.pathway_id)
    care_team_join(actor=actor, pathway=pathway, organisation=request.requesting_organisation)
    return request


@transaction.atomic
def access_request_refuse(*, actor: Actor, request_id: int, comment: str = "") -> AccessRequest:
    return _decide(actor, request_id, AccessRequestStatus.REFUSED, comment)
