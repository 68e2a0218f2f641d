from django import template

from parcours.categories import DataCategory

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
