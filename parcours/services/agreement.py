"""Writes on Agreement (convention de partenariat)."""

from django.db import transaction
from django.utils.translation import gettext as _

from .. import access
from ..actor import Actor
from ..categories import ALL_CATEGORIES, SENSITIVE_CATEGORIES
from ..errors import InvalidInput, NotAllowed
from ..models import Agreement, Organisation
from ..queueing import enqueue_on_commit
from .access_grants import access_recompute_request
from .history import save_with_history

AGREEMENT_FIELDS = (
    "name",
    "shared_categories",
    "level",
    "starts_on",
    "ends_on",
    "review_on",
    "acknowledge_within_working_days",
    "first_appointment_within_days",
    "no_show_grace_hours",
)


def _check_shared_categories(categories: object) -> None:
    if not isinstance(categories, list) or not set(categories) <= ALL_CATEGORIES:
        raise InvalidInput(
            _("Catégories inconnues."), fields={"shared_categories": [_("Choix invalide.")]}
        )
    sensitive = set(categories) & SENSITIVE_CATEGORIES
    if sensitive:
        raise InvalidInput(
            _(
                "Une convention ne couvre jamais la santé ni la justice : "
                "il faut l'accord de la personne."
            ),
            fields={"shared_categories": [_("Santé et justice exclues des conventions.")]},
        )


def _check_parties(actor: Actor, party_ids: list[int]) -> list[Organisation]:
    parties = list(Organisation.objects.filter(pk__in=set(party_ids)))
    if len(parties) < 2 or len(parties) != len(set(party_ids)):
        raise InvalidInput(
            _("Une convention réunit au moins deux organisations existantes."),
            fields={"parties": [_("Choisissez au moins deux organisations.")]},
        )
    if actor.organisation.pk not in {p.pk for p in parties}:
        raise InvalidInput(
            _("Votre organisation doit être signataire de la convention."),
            fields={"parties": [_("Ajoutez votre organisation aux signataires.")]},
        )
    return parties


@transaction.atomic
def agreement_create(*, actor: Actor, party_ids: list[int], **fields: object) -> Agreement:
    """Record an agreement signed by the actor's organisation and at least one other."""
    if not access.can_manage_agreements(actor):
        raise NotAllowed(_("Seuls les responsables de structure enregistrent les conventions."))
    parties = _check_parties(actor, party_ids)
    _check_shared_categories(fields.get("shared_categories", []))
    agreement = Agreement(**{k: v for k, v in fields.items() if k in AGREEMENT_FIELDS})
    save_with_history(agreement, actor=actor, reason=_("Enregistrement de la convention"))
    agreement.parties.set(parties)
    _recompute_after_commit(p.pk for p in parties)
    return agreement


@transaction.atomic
def agreement_update(
    *, actor: Actor, agreement_id: int, party_ids: list[int] | None = None, **changes: object
) -> Agreement:
    agreement = (
        access.agreements_visible_to(actor).select_for_update(of=("self",)).get(pk=agreement_id)
    )
    if not access.can_manage_agreements(actor):
        raise NotAllowed(_("Seuls les responsables de structure modifient les conventions."))
    if "shared_categories" in changes:
        _check_shared_categories(changes["shared_categories"])
    for field, value in changes.items():
        if field in AGREEMENT_FIELDS:
            setattr(agreement, field, value)
    save_with_history(agreement, actor=actor, reason=_("Modification de la convention"))
    before = set(agreement.parties.values_list("pk", flat=True))
    if party_ids is not None:
        agreement.parties.set(_check_parties(actor, party_ids))
    _recompute_after_commit(before | set(agreement.parties.values_list("pk", flat=True)))
    return agreement


def _recompute_after_commit(organisation_ids) -> None:
    """An agreement is a basis for every pathway its parties own: they are marked for recompute
    in this transaction (a durable row), and the recompute is queued in the background once the
    change commits (there may be tens of thousands of pathways). Queueing never fails the
    change: if the broker is down, the periodic run finds the marks. The task is looked up by
    name (parcours.queueing): tasks sit above services and services never import them. In the
    local fallback mode it runs eagerly."""
    access_recompute_request(organisation_ids=organisation_ids)
    enqueue_on_commit(
        "parcours.tasks.access_recompute_pathways",
        catch_up="the access-recompute-pending beat entry recomputes the marked organisations",
    )
