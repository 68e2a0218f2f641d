from django import template

from parcours import access
from parcours.actor import Actor
from parcours.categories import DataCategory
from parcours.labels import organisation_kind_recipients

from ..views import information

register = template.Library()


@register.filter
def identity_visible(visible: dict, pathway_id: int) -> bool:
    """`visible` is access.categories_for's answer: may the person's name be shown?"""
    return "identity" in visible.get(pathway_id, ())


@register.filter
def category_labels(codes) -> str:
    """["identity", "pathway"] → "Identité, Parcours, orientations et rendez-vous"."""
    return ", ".join(str(DataCategory(code).label) for code in codes or ())


@register.filter
def category_label(code: str) -> str:
    return str(DataCategory(code).label)


@register.filter
def consent_recipients(consent) -> str:
    """A consent's recipients in words: the organisations it names (prefetched), then its
    kinds of organisation (« tout organisme de type « Mission locale » »), never their codes."""
    return ", ".join(
        [o.name for o in consent.organisations.all()]
        + organisation_kind_recipients(consent.organisation_kinds)
    )


@register.filter
def reads_dpo_reports(actor) -> bool:
    """The menu shows the DPO's pages to whom parcours.access gives them (no role list here)."""
    # Pages outside member_required (login, password) have no actor: the template passes "".
    return isinstance(actor, Actor) and access.can_read_dpo_reports(actor)


@register.simple_tag
def accessibility_status() -> str:
    """The footer's « Accessibilité : … » (RGAA wording), from the deployment's settings."""
    return information.accessibility_status()
