"""« Orientations envoyées »: the referrals the user, or their organisation, sent — where each
one stands and the receiver's latest answer — with the same scope and filters as the API's
`GET /api/v1/referrals/?sent_by=…` (parcours/selectors/sent_referrals.py)."""

from django.core.paginator import Paginator
from django.shortcuts import render

from parcours import access
from parcours.gate import Action
from parcours.gate.journal import record_list_of
from parcours.selectors.sent_referrals import SentBy, organisations_sent_to, sent_list

from ..actor import member_required
from ..listing import naming_persons
from ..sent_forms import SentFilterForm
from .referrals import PAGE_SIZE, SHOWN_IN_LISTS


@member_required
def sent_referrals(request):
    actor = request.actor
    form = SentFilterForm(request.GET, receivers=organisations_sent_to(actor))
    if not form.is_valid():
        # A filter the form does not offer (a typed URL): said on the field, nothing listed.
        return render(request, "web/referrals/sent.html", {"form": form, "page": None})
    filters = form.filters()
    # The rows show a name: the person's and the pathway's sealed fields left unread.
    referrals = naming_persons(sent_list(actor, filters), "pathway")
    page = Paginator(referrals, PAGE_SIZE).get_page(request.GET.get("page"))
    grants = access.grants_for(actor, {r.pathway_id for r in page})
    # Each row shows the person's name and the referral: identity and pathway categories.
    record_list_of(
        actor,
        Action.REFERRAL_LIST,
        object_type="referral",
        items=[(r.pk, [r.pathway_id]) for r in page],
        shown=SHOWN_IN_LISTS,
        grants=grants,
    )
    return render(
        request,
        "web/referrals/sent.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "visible": {pid: held.categories for pid, held in grants.items()},
            "by_me": filters.by == SentBy.ME,
        },
    )
