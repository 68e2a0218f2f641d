from dataclasses import dataclass

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from notifications.selectors import open_alerts_badge_bounded
from parcours import access
from parcours.actor import Actor
from parcours.categories import DataCategory
from parcours.labels import organisation_kind_recipients
from parcours.selectors.sent_referrals import status_label

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
def pluriel(count: int) -> str:
    """French plural mark: 0 and 1 take the singular (« 0 orientation »), unlike `pluralize`."""
    return "s" if count > 1 else ""


@register.filter
def referral_status_label(code: str) -> str:
    """A referral's state code (from an annotation, not a model field) in French."""
    return status_label(code)


@dataclass(frozen=True)
class AlertsBadge:
    shown: str  # « 7 », « 99+ »
    spoken: str  # for screen readers: « 7 alertes non traitées », « plus de 99 alertes… »


@register.filter
def open_alerts_badge(actor) -> AlertsBadge | None:
    """The header's badge: the alerts still to deal with the acting user may see (the alerts
    page's default list), counted up to a hundred — « 99+ » beyond. None when there are none
    or no one acts (anonymous, or a page outside member_required: the template passes "")."""
    if not isinstance(actor, Actor):
        return None
    counted = open_alerts_badge_bounded(actor)
    count = counted.shown
    if not count:
        return None
    if counted.more:
        return AlertsBadge(f"{count}+", f"plus de {count} alertes non traitées")
    return AlertsBadge(str(count), f"{count} alerte{pluriel(count)} non traitée{pluriel(count)}")


@register.filter
def reads_dpo_reports(actor) -> bool:
    """The menu shows the DPO's pages to whom parcours.access gives them (no role list here)."""
    # Pages outside member_required (login, password) have no actor: the template passes "".
    return isinstance(actor, Actor) and access.can_read_dpo_reports(actor)


@register.filter
def reads_statistics(actor) -> bool:
    """The menu's « Tableau de bord » for whom the gate's table gives the statistics."""
    return isinstance(actor, Actor) and access.can_read_statistics(actor)


@register.filter
def reads_territory(actor) -> bool:
    """The territorial coordinator's menu (their figures and overdue referrals, no record)."""
    return isinstance(actor, Actor) and access.can_read_territory(actor)


@register.filter
def lists_committees(actor) -> bool:
    """The menu's « Comités de parcours » for the roles that take part in them."""
    return isinstance(actor, Actor) and access.can_list_committees(actor)


@register.filter
def administers_organisation(actor) -> bool:
    """The menu's « Accès API » for the organisation's administrators (parcours.access says)."""
    return isinstance(actor, Actor) and access.administers_organisation(actor)


@register.simple_tag
def accessibility_status() -> str:
    """The footer's « Accessibilité : … » (RGAA wording), from the deployment's settings."""
    return information.accessibility_status()


@register.filter
def select_options(field) -> SafeString:
    """A select's options in one pass, values and labels escaped: a form that lists thousands
    of choices (a national organisation's partners on « Tableau de bord ») spent tens of
    milliseconds in the template's loop, evaluating the field's value once per option."""
    current = "" if field.value() is None else str(field.value())
    return mark_safe(  # noqa: S308 (every value and label escaped here)
        "".join(
            f'<option value="{escape("" if value is None else value)}"'
            f"{' selected' if current == str(value) else ''}>{escape(label)}</option>"
            for value, label in field.field.choices
        )
    )
