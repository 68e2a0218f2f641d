"""« Webhooks des systèmes »: the organisation's administrators subscribe their systems to
referral and pathway events, rotate or disable a subscription's secret, read the delivery log
and replay a message — the services and gate of the API's /api/v1/webhook-subscriptions/ and
/api/v1/webhook-deliveries/."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from parcours.errors import InvalidInput
from parcours.services import webhooks as webhook_services

from ..actor import member_required
from ..confirmations import Confirmation
from ..forms import apply_domain_error, error_sentence
from ..webhook_forms import WebhookSubscriptionForm

SHOWN = 100  # an organisation has a handful of systems
DELIVERIES_SHOWN = 100


def _page(request, form, *, issued=None, confirming="", status=200):
    subscriptions = list(webhook_services.webhook_subscriptions_of(actor=request.actor)[:SHOWN])
    for subscription in subscriptions:
        subscription.event_labels = [webhook_services.event_label(e) for e in subscription.events]
        subscription.disable_confirmation = Confirmation(
            title="Désactiver cet abonnement ?",
            text=f"« {subscription.description} » ne recevra plus aucun nouveau message. La "
            "désactivation est définitive ; il faudra créer un nouvel abonnement.",
            confirm="Désactiver l'abonnement",
        )
    return render(
        request,
        "web/webhooks/list.html",
        {
            "subscriptions": subscriptions,
            "form": form,
            "issued": issued,
            "confirming": confirming,
            "cancel": reverse("web:webhooks"),
        },
        status=status,
    )


@never_cache
@member_required
def webhooks(request):
    """The list and the form; a subscription made shows its secret on the answer, once (no
    redirect: the secret is in no URL, no session, no log)."""
    if request.method != "POST":
        return _page(request, WebhookSubscriptionForm())
    form = WebhookSubscriptionForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    try:
        issued = webhook_services.webhook_subscription_create(
            actor=request.actor,
            url=data["url"],
            description=data["description"],
            events=data["events"],
        )
    except (InvalidInput, ValidationError) as error:  # the gate's refusals: the 403 page
        apply_domain_error(form, error)
        return _page(request, form, status=400)
    return _page(request, WebhookSubscriptionForm(), issued=issued)


@never_cache
@member_required
def webhook_change(request, pk: int):
    """The system's name, address and events of a subscription (its secret stays: a rotation is
    its own button). Bad input: the form again, values kept, a French message per field."""
    subscription = webhook_services.webhook_subscriptions_of(actor=request.actor).get(pk=pk)  # 404
    if request.method != "POST":
        form = WebhookSubscriptionForm(
            initial={
                "description": subscription.description,
                "url": subscription.url,
                "events": subscription.events,
            }
        )
        return _change_page(request, subscription, form)
    form = WebhookSubscriptionForm(request.POST)
    if not form.is_valid():
        return _change_page(request, subscription, form, status=400)
    data = form.cleaned_data
    try:
        changed = webhook_services.webhook_subscription_change(
            actor=request.actor,
            subscription_id=pk,
            url=data["url"],
            description=data["description"],
            events=data["events"],
        )
    except (InvalidInput, ValidationError) as error:
        apply_domain_error(form, error)
        return _change_page(request, subscription, form, status=400)
    messages.success(request, f"Abonnement « {changed.description} » modifié.")
    return redirect("web:webhooks")


def _change_page(request, subscription, form, *, status=200):
    return render(
        request,
        "web/webhooks/change.html",
        {"subscription": subscription, "form": form},
        status=status,
    )


@never_cache
@require_POST
@member_required
def webhook_rotate(request, pk: int):
    try:
        issued = webhook_services.webhook_subscription_rotate(
            actor=request.actor, subscription_id=pk
        )
    except (InvalidInput, ValidationError) as error:
        messages.error(request, error_sentence(error))
        return redirect("web:webhooks")
    return _page(request, WebhookSubscriptionForm(), issued=issued)


@require_POST
@member_required
def webhook_disable(request, pk: int):
    if request.POST.get("confirm") != "1":
        # Without the DSFR's JavaScript: the list again, the confirmation under the button.
        webhook_services.webhook_subscriptions_of(actor=request.actor).get(
            pk=pk
        )  # 404 out of scope
        return _page(request, WebhookSubscriptionForm(), confirming=f"disable-{pk}")
    subscription = webhook_services.webhook_subscription_disable(
        actor=request.actor, subscription_id=pk
    )
    messages.success(request, f"Abonnement « {subscription.description} » désactivé.")
    return redirect("web:webhooks")


@require_GET
@member_required
def webhook_deliveries(request, pk: int):
    subscription = webhook_services.webhook_subscriptions_of(actor=request.actor).get(pk=pk)
    deliveries = list(
        webhook_services.webhook_deliveries_of(
            actor=request.actor, subscription_id=pk
        ).prefetch_related("attempt_log")[:DELIVERIES_SHOWN]
    )
    for delivery in deliveries:
        delivery.event_label = webhook_services.event_label(delivery.event_type)
    return render(
        request,
        "web/webhooks/deliveries.html",
        {"subscription": subscription, "deliveries": deliveries},
    )


@require_POST
@member_required
def webhook_replay(request, pk: int):
    delivery = webhook_services.webhook_delivery_replay(actor=request.actor, delivery_id=pk)
    messages.success(
        request,
        f"Message {delivery.message_id} remis en file d'envoi : il part dans quelques secondes.",
    )
    return redirect("web:webhook-deliveries", pk=delivery.subscription_id)
