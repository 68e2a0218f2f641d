"""The territorial coordinator's territory as the doors ask for it (issue 18): the gate first
(`territory.read`, 403 with the rule's French message), then the selector
(`selectors/territory.py`), and the read journaled — a coordinator sees no person, but which
referrals of their areas they looked at is the DPO's to know (operation `report`, object type
`territory`, the referrals listed by id in the journal only)."""

from django.db.models import QuerySet

from .. import gate
from ..actor import Actor
from ..gate import Action
from ..gate.journal import journal_record
from ..models import AccessOperation, EmploymentArea
from ..selectors.referral_statistics import FilterError, areas_for
from ..selectors.territory import OverdueReferrals, overdue_referrals_for

PURPOSE = "Pilotage du partenariat du territoire (coordination territoriale)"


def territory_areas(*, actor: Actor) -> QuerySet[EmploymentArea]:
    """The employment areas the actor coordinates (the area filter's choices); NotAllowed
    unless the gate's table gives their role the territory."""
    gate.require(actor, Action.TERRITORY_READ)
    return areas_for(actor)


def territory_overdue_read(*, actor: Actor, area_id: int | None = None) -> OverdueReferrals:
    """The overdue referrals of the actor's areas, without any personal data; NotAllowed as
    above, FilterError (field `area`) for an area the actor does not cover. Journaled: one row
    naming the referrals shown (their ids, for the DPO; the doors show a pseudonym)."""
    gate.require(actor, Action.TERRITORY_READ)
    if area_id is not None and not areas_for(actor).filter(pk=area_id).exists():
        raise FilterError("Choisissez un bassin d'emploi de la liste.", field="area")
    overdue = overdue_referrals_for(actor, area_id=area_id)
    journal_record(
        actor=actor,
        operation=AccessOperation.REPORT,
        object_type="territory",
        object_ids=overdue.referral_ids,
        purpose=PURPOSE,
        detail={
            "action": str(Action.TERRITORY_READ),
            "report": "overdue_referrals",
            "area": area_id,
            "total": overdue.total,
        },
    )
    return overdue
