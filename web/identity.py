"""Whether a write's page may name the person in its title, as the referral form and the
pathway's write pages do: only when the organisation sees their identity, and then journaled as
a read of it (a manager orients without reading the file)."""

from parcours import access
from parcours.actor import Actor
from parcours.categories import DataCategory
from parcours.gate import Action
from parcours.gate.journal import record_read_of
from parcours.models import Pathway


def name_shown(actor: Actor, pathway: Pathway, *, grants=None, journal: bool = True) -> bool:
    """True when the page names the person of `pathway`, journaled then; with `journal` False
    (a fragment, a form shown again) the page does not name them and nothing is journaled."""
    grants = grants if grants is not None else access.grants_for(actor, [pathway.pk])
    held = grants.get(pathway.pk)
    if not journal or held is None or DataCategory.IDENTITY not in held.categories:
        return False
    record_read_of(
        actor,
        Action.PATHWAY_READ,
        object_type="pathway",
        object_id=pathway.pk,
        person_id=pathway.person_id,
        pathway_ids=[pathway.pk],
        shown={DataCategory.IDENTITY},
        grants=grants,
    )
    return True
