"""Alerts (list, acknowledge) and the user's notification preference."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from notifications.models import AlertState
from notifications.selectors import alerts_visible_to
from notifications.services.alerts import alert_acknowledge
from notifications.services.preferences import preference_of, preference_set

from ..actor import member_required
from ..forms import INPUT_ERRORS, PreferenceForm, error_sentence


@member_required
def alert_list(request):
    alerts = alerts_visible_to(request.actor).select_related(
        "referral__sender_organisation", "referral__receiver_organisation", "acknowledged_by"
    )
    show = request.GET.get("etat", "ouvertes")
    if show == "ouvertes":
        alerts = alerts.exclude(state=AlertState.RESOLVED)
    page = Paginator(alerts.order_by("-created_at", "-id"), 25).get_page(request.GET.get("page"))
    return render(request, "web/alerts/list.html", {"page": page, "show": show})


@require_POST
@member_required
def alert_acknowledge_view(request, pk: int):
    try:
        alert_acknowledge(actor=request.actor, alert_id=pk, now=timezone.now())
    except INPUT_ERRORS as error:
        messages.error(request, error_sentence(error))
    else:
        messages.success(request, "Alerte prise en compte : elle ne sera pas escaladée.")
    # Back where the button was (the home page or the list), never to another site.
    back = request.POST.get("next", "")
    if not back.startswith("/") or not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("web:alerts")
    return HttpResponseRedirect(back)


@member_required
def preferences(request):
    current = preference_of(user=request.user)
    form = PreferenceForm(request.POST or None, initial={"mode": current.mode})
    if request.method == "POST" and form.is_valid():
        preference_set(user=request.user, mode=form.cleaned_data["mode"])
        messages.success(request, "Vos préférences de notification sont enregistrées.")
        return redirect("web:preferences")
    return render(request, "web/alerts/preferences.html", {"form": form})
