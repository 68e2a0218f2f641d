from django import template

register = template.Library()


@register.filter
def identity_visible(visible: dict, pathway_id: int) -> bool:
    """`visible` is access.categories_for's answer: may the person's name be shown?"""
    return "identity" in visible.get(pathway_id, ())
