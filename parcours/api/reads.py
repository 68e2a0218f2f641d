"""The API door's side of journaling: after a successful GET, hand what was served to the gate.

The viewset says which objects it served (`served`, set by `get_object` and
`paginate_queryset`), of which person and pathways each is (`journal_subject`) and what it shows
of them; the gate writes the rows. Writes are journaled by the services, refusals by the gate.
"""

from rest_framework.permissions import SAFE_METHODS

from ..gate.journal import Seen, record_list, record_read


def journal_reads(view, request, response) -> None:
    served = getattr(view, "served", None)
    action = view.gate_actions.get(getattr(view, "action", None))
    actor = getattr(request, "_parcours_actor", None)
    if (
        served is None
        or action is None
        or actor is None
        or view.journal_object_type is None
        or request.method not in SAFE_METHODS
        or not 200 <= response.status_code < 300
    ):
        return
    grants = view.visible_categories
    subjects = [(view.journal_id(obj), view.journal_subject(obj)) for obj in served]
    # A page's grants are primed already (paginate_queryset); a detail's are fetched here.
    grants.prime(pid for _obj, (_person, pathway_ids) in subjects for pid in pathway_ids)
    items = Seen.each(
        grants.grants,
        [(object_id, pathway_ids) for object_id, (_person, pathway_ids) in subjects],
        shown=view.journal_shown,
        because=view.journal_because,
    )
    if view.kwargs.get(view.lookup_url_kwarg or view.lookup_field) is not None:
        (object_id, what), (_obj, (person_id, _ids)) = items[0], subjects[0]
        record_read(
            actor,
            action,
            object_type=view.journal_object_type,
            object_id=object_id,
            person_id=person_id,
            seen=what,
        )
    else:
        record_list(actor, action, object_type=view.journal_object_type, items=items)
