"""« Accès API des systèmes »: the organisation's administrators make, renew and revoke their
partner systems' tokens — the services and gate of the API's /api/v1/api-tokens/."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from parcours import api_scopes
from parcours.errors import InvalidInput
from parcours.services import api_token as api_token_services

from ..actor import member_required
from ..api_token_forms import NEW_ACCOUNT, ApiTokenForm
from ..confirmations import Confirmation
from ..forms import apply_domain_error, error_sentence

SHOWN = 200  # the newest tokens: an organisation has a handful of systems


def _page(request, form, *, issued=None, confirming="", status=200):
    actor = request.actor
    tokens = list(api_token_services.api_tokens_of(actor).order_by("-created_at", "-id")[:SHOWN])
    for token in tokens:
        status_now = token.status()
        token.status_code, token.status_label = status_now.value, status_now.label
        token.scope_labels = [api_scopes.scope_label(s) for s in token.scopes]
        token.revoke_confirmation = Confirmation(
            title="Révoquer ce jeton d'accès ?",
            text=f"« {token.system_name} » ({token.prefix}…) ne pourra plus appeler l'API : "
            "ses requêtes seront refusées dès maintenant. La révocation est définitive ; il "
            "faudra créer un nouveau jeton.",
            confirm="Révoquer le jeton",
        )
    return render(
        request,
        "web/api_tokens/list.html",
        {
            "tokens": tokens,
            "form": form,
            "issued": issued,
            "confirming": confirming,
            "cancel": reverse("web:api-tokens"),
        },
        status=status,
    )


def _form(request, data=None) -> ApiTokenForm:
    return ApiTokenForm(data, members=api_token_services.api_token_members(request.actor))


@never_cache
@member_required
def api_tokens(request):
    """The list and the form; a token made shows its secret on the answer, once (no redirect:
    the secret is in no URL, no session, no log)."""
    if request.method != "POST":
        return _page(request, _form(request))
    form = _form(request, request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    try:
        issued = api_token_services.api_token_create(
            request.actor,
            system_name=data["system_name"],
            scopes=data["scopes"],
            valid_days=data["valid_days"],
            member_id=data["member"] if data["member"] != NEW_ACCOUNT else None,
            role=data["role"] or None,
            requests_per_minute=data["requests_per_minute"],
        )
    except (InvalidInput, ValidationError) as error:  # the gate's refusals: the 403 page
        apply_domain_error(form, error)
        return _page(request, form, status=400)
    return _page(request, _form(request), issued=issued)


@never_cache
@require_POST
@member_required
def api_token_renew(request, pk: int):
    try:
        issued = api_token_services.api_token_renew(request.actor, token_id=pk)
    except (InvalidInput, ValidationError) as error:  # the gate's refusals: the 403 page
        messages.error(request, error_sentence(error))
        return redirect("web:api-tokens")
    return _page(request, _form(request), issued=issued)


@require_POST
@member_required
def api_token_revoke(request, pk: int):
    if request.POST.get("confirm") != "1":
        # Without the DSFR's JavaScript: the list again, the confirmation under the button.
        api_token_services.api_tokens_of(request.actor).get(pk=pk)  # 404 out of scope
        return _page(request, _form(request), confirming=f"revoke-{pk}")
    token = api_token_services.api_token_revoke(request.actor, token_id=pk)
    messages.success(request, f"Jeton « {token.system_name} » ({token.prefix}…) révoqué.")
    return redirect("web:api-tokens")
