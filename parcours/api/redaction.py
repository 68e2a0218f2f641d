"""Field redaction by data category, for every serializer that shows a person's record.

A field whose category the actor may not see is **omitted** (not nulled): the response carries
only what the actor's organisation may see, and a `categories` list says which those are.
The categories come from `parcours.access.categories_for`, primed once per page.
"""

from collections.abc import Iterable, Mapping

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import access
from ..actor import Actor


class VisibleCategories:
    """Pathway id → the actor's grants (categories, bases, relations), fetched once per page
    and cached for the request: the redaction and the journal row read the same answer."""

    def __init__(self, actor: Actor):
        self.actor = actor
        self.grants: dict[int, access.PathwayGrants] = {}

    def prime(self, pathway_ids: Iterable[int]) -> None:
        missing = [pid for pid in set(pathway_ids) if pid not in self.grants]
        if missing:
            self.grants.update(access.grants_for(self.actor, missing))

    def of(self, pathway_ids: Iterable[int]) -> frozenset[str]:
        ids = list(pathway_ids)
        self.prime(ids)
        result: set[str] = set()
        for pid in ids:
            result |= self.grants[pid].categories
        return frozenset(result)


# The category of a field its serializer's table does not name.
DEFAULT_CATEGORY = "pathway"


def redact(
    data: dict,
    visible: frozenset[str],
    field_categories: Mapping[str, str],
    default_category: str = DEFAULT_CATEGORY,
) -> dict:
    """The row without the fields whose category is not visible, with the visible categories
    (sorted) as its `categories`: for the serializers and the lists written without them
    (api/list_rows.py)."""
    redacted = {
        key: value
        for key, value in data.items()
        if field_categories.get(key, default_category) in visible
    }
    redacted["categories"] = sorted(visible)
    return redacted


class RedactedSerializerMixin:
    """Drop every field whose category is not visible; subclasses say which pathways an
    instance belongs to and map fields to categories."""

    field_categories: dict[str, str] = {}
    default_category = DEFAULT_CATEGORY

    def pathway_ids_of(self, instance) -> list[int]:
        raise NotImplementedError

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_categories(self, instance) -> list[str]:
        return []  # filled in by to_representation

    def to_representation(self, instance):
        data = super().to_representation(instance)  # type: ignore[misc]
        visible = self.context["visible_categories"].of(self.pathway_ids_of(instance))  # type: ignore[attr-defined]
        redacted = redact(data, visible, self.field_categories, self.default_category)
        return self.redact_nested(redacted, visible)

    def redact_nested(self, data: dict, visible: frozenset[str]) -> dict:
        return data
