"""The one gate where an actor meets a record (ADR 0010).

Every door — API viewsets, page views, the admin, management commands, Celery tasks — reaches
people's records through here and `parcours.access`:

- **who may do what** is one table, `rules.RULES` (role × relation to the record × action ×
  category), read by the services (`require`), the pages' buttons (`actions_for`) and the tests;
- **reads are scoped** by `parcours.access` (grants materialised with their bases and
  intervals); `locate` finds a record within that scope or answers "not found";
- **the journal** is written only by `journal` — reads, lists (per object), writes, refusals,
  exceptional accesses, reports — with purpose and basis, the door read from `context`.

A door validates its input, calls a service or the gate, and renders. It never compares a role,
never writes a journal row, never decides a category.
"""

from ..rules import RULES, Action, Relation
from .context import Door, door
from .decisions import (
    Subject,
    actions_for,
    author_refusal,
    locate,
    locate_compiled,
    may,
    pathway_for,
    refuse,
    require,
    require_author,
)

__all__ = [
    "RULES",
    "Action",
    "Door",
    "Relation",
    "Subject",
    "actions_for",
    "author_refusal",
    "door",
    "locate",
    "locate_compiled",
    "may",
    "pathway_for",
    "refuse",
    "require",
    "require_author",
]
