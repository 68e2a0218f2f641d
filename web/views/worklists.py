"""The full lists behind « À traiter »'s « voir tout » links that no other page already shows
(the inbox and the alerts page serve the others, with a filter in the URL): the user's
caseload and the organisation's overdue plan actions. Each is the home block's queryset
(parcours/selectors/worklists.py), paginated — its count is the home counter."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from parcours import access
from parcours.gate import Action
from parcours.gate.journal import record_list_of
from parcours.models import Pathway
from parcours.selectors import worklists

from ..actor import member_required
from ..compiled_pages import CompiledPages
from ..listing import naming_persons
from .referrals import PAGE_SIZE, SHOWN_IN_LISTS


def _caseload_shape(actor, now, user):
    return naming_persons(worklists.caseload(actor, now=now, user=user), "")


# « Personnes suivies »' count and pages compiled once per role and page (issue 17), the acting
# user's id a parameter (twice: the référent, the counsellor in charge of a referral).
CASELOAD_PAGES = CompiledPages(
    Pathway, _caseload_shape, lambda filters: ["user"], repeated=["user"]
)


@member_required
def caseload(request):
    """« Mes personnes suivies »: the open pathways of which the user is the référent."""
    actor = request.actor
    pathways = CASELOAD_PAGES.queryset(actor, timezone.now(), (), {"user": actor.user.pk})
    page = Paginator(pathways, PAGE_SIZE).get_page(request.GET.get("page"))
    grants = access.grants_for(actor, {p.pk for p in page})
    # Each row shows the person's name and the pathway's opening: identity and pathway.
    record_list_of(
        actor,
        Action.PATHWAY_LIST,
        object_type="pathway",
        items=[(p.pk, [p.pk]) for p in page],
        shown=SHOWN_IN_LISTS,
        grants=grants,
    )
    return render(
        request,
        "web/worklists/caseload.html",
        {"page": page, "visible": {pid: held.categories for pid, held in grants.items()}},
    )


@member_required
def overdue_actions(request):
    """The actions of people's plans the organisation holds and let pass their due date."""
    actor = request.actor
    page = Paginator(worklists.overdue_actions(actor), PAGE_SIZE).get_page(request.GET.get("page"))
    grants = access.grants_for(actor, {a.pathway_id for a in page})
    record_list_of(
        actor,
        Action.PLAN_ACTION_LIST,
        object_type="plan_action",
        items=[(a.pk, [a.pathway_id]) for a in page],
        shown=SHOWN_IN_LISTS,
        grants=grants,
    )
    return render(
        request,
        "web/worklists/overdue_actions.html",
        {"page": page, "visible": {pid: held.categories for pid, held in grants.items()}},
    )
