"""The page of a receiver's link (issue 19): no sign-in, the link is the actor.

`/lien/<referral>/<token>/` shows the referral as the receiver may see it (its grants, narrowed
to this referral: parcours/access.py) and the answers the gate's table lets the link give; each
answer is a POST to `/lien/<referral>/<token>/<move>/`, made by the referral services with the
link's actor — the same services, forms and checks as the staff's referral page. A token that is
forged, altered, expired, revoked, used on another referral's URL, or a referral that is over:
a French page (404 or 410), the refusal journaled when the link is known.
"""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from parcours import access, gate
from parcours.categories import DataCategory
from parcours.errors import Conflict, NotAllowed
from parcours.gate import Action as GateAction
from parcours.gate import Subject
from parcours.gate.journal import record_read_of
from parcours.gate.relations import relations_to_referral
from parcours.models import Referral
from parcours.rules import move_action
from parcours.services import receiver_link as link_services
from parcours.services import referral as referral_services
from parcours.transitions import ACTION_LABELS, Action

from ..actor import member_required
from ..address_limits import RECEIVER_LINK_REFUSALS
from ..forms import (
    INPUT_ERRORS,
    AppointmentForm,
    CloseForm,
    RefuseForm,
    apply_domain_error,
    error_sentence,
)

FORMS = {
    Action.REFUSE: RefuseForm,
    Action.SET_APPOINTMENT: AppointmentForm,
    Action.CLOSE: CloseForm,
}

# Why a URL opens nothing, in words; 404 when nothing says the link exists, 410 when it did.
REFUSED_PAGES: dict[str, tuple[int, str, str]] = {
    link_services.INVALID: (
        404,
        "Lien introuvable",
        "Ce lien n'est pas valide : vérifiez qu'il a été copié en entier depuis l'e-mail reçu.",
    ),
    link_services.OTHER_REFERRAL: (
        404,
        "Lien introuvable",
        "Ce lien ne sert que pour l'orientation pour laquelle il a été envoyé.",
    ),
    link_services.EXPIRED: (
        410,
        "Lien expiré",
        "Ce lien a expiré. Demandez à l'organisme qui vous a adressé la personne de vous en "
        "envoyer un nouveau.",
    ),
    link_services.REVOKED: (
        410,
        "Lien révoqué",
        "L'organisme qui vous a adressé la personne a révoqué ce lien. S'il vous en a envoyé "
        "un nouveau, utilisez celui-ci.",
    ),
    link_services.CLOSED: (
        410,
        "Orientation terminée",
        "Cette orientation est terminée : ce lien ne sert plus. Merci pour votre réponse.",
    ),
}


def _throttled(request):
    return render(
        request,
        "web/receiver_link/refused.html",
        {
            "title": "Trop de liens refusés",
            "text": "Trop de liens non valides ont été essayés depuis votre connexion. "
            "Réessayez dans quelques minutes avec le lien reçu par courriel.",
            "signing_in": True,
            **_invitation(),
        },
        status=429,
    )


def _open(request, token: str, referral_pk: int):
    """The link, or the page that says why not. No enumeration: a refusal that could be a guess
    (a forged token, another referral's URL) is counted against the address, and past
    PARCOURS_RECEIVER_LINK_REFUSALS in ten minutes every link page answers 429."""
    if RECEIVER_LINK_REFUSALS.exceeded(request):
        return None, _throttled(request)
    try:
        return link_services.receiver_link_open(token, referral_pk), None
    except link_services.LinkRefused as refusal:
        if refusal.reason in (link_services.INVALID, link_services.OTHER_REFERRAL):
            RECEIVER_LINK_REFUSALS.count(request)
        return None, _refused(request, refusal)


def _refused(request, refusal: link_services.LinkRefused):
    status, title, text = REFUSED_PAGES[refusal.reason]
    return render(
        request,
        "web/receiver_link/refused.html",
        {"title": title, "text": text, "signing_in": True, **_invitation()},
        status=status,
    )


def _not_allowed(request, refusal: NotAllowed):
    return render(
        request,
        "web/receiver_link/refused.html",
        {"title": "Action impossible", "text": refusal.message, "signing_in": True} | _invitation(),
        status=403,
    )


def _invitation() -> dict:
    """« Demandez un compte »: the sign-in page (ProConnect asks the organisation's
    administrators, or the platform's, to open the account)."""
    return {"join_url": reverse("web:login"), "operator": settings.PARCOURS_OPERATOR_NAME}


def _referral(opened: link_services.OpenedLink) -> Referral:
    return gate.locate(
        opened.actor,
        access.referrals_visible_to(opened.actor).select_related(
            "pathway__person", "sender_organisation", "receiver_organisation", "receiver_service"
        ),
        opened.link.referral_id,
        action=GateAction.REFERRAL_READ,
    )


def _page(request, opened, referral: Referral, forms: dict | None = None, status: int = 200):
    actor = opened.actor
    grants = access.grants_for(actor, [referral.pathway_id])
    categories = grants[referral.pathway_id].categories
    if request.method == "GET":  # a failed form shown again is part of its move
        record_read_of(
            actor,
            GateAction.REFERRAL_READ,
            object_type="referral",
            object_id=referral.pk,
            person_id=referral.pathway.person_id,
            pathway_ids=[referral.pathway_id],
            grants=grants,
        )
    forms = forms or {}
    offered = referral_services.moves_offered(actor, referral)
    token = request.resolver_match.kwargs["token"]
    return render(
        request,
        "web/receiver_link/page.html",
        {
            "referral": referral,
            "link": opened.link,
            "token": token,
            "named": DataCategory.IDENTITY in categories,
            "social": DataCategory.SOCIAL in categories,
            "actions": [(a.value, ACTION_LABELS[a]) for a in offered],
            "refuse_form": forms.get(Action.REFUSE) or RefuseForm(),
            "appointment_form": forms.get(Action.SET_APPOINTMENT) or AppointmentForm(),
            "close_form": forms.get(Action.CLOSE) or CloseForm(),
            "appointments": referral.appointments.order_by("-starts_at"),
            "signing_in": True,  # no account: no menu
            **_invitation(),
        },
        status=status,
    )


def receiver_link(request, referral_pk: int, token: str):
    opened, refused = _open(request, token, referral_pk)
    if opened is None:
        return refused
    link_services.receiver_link_touch(opened.link)
    return _page(request, opened, _referral(opened))


@require_POST
def receiver_link_move(request, referral_pk: int, token: str, action: str):
    try:
        move = Action(action)
    except ValueError:
        raise Http404 from None
    opened, refused = _open(request, token, referral_pk)
    if opened is None:
        return refused
    referral = _referral(opened)
    if move not in referral_services.PARTY_MOVE_SERVICES:
        raise Http404  # a system move (expiry) is no page's to make
    link_services.receiver_link_touch(opened.link)
    try:  # the gate's table first: a move the link may not make is refused before its input
        gate.require(
            opened.actor,
            move_action(move),
            relations=relations_to_referral(opened.actor, referral),
            subject=Subject("referral", referral.pk, referral.pathway.person_id),
        )
    except NotAllowed as refusal:
        return _not_allowed(request, refusal)
    form = FORMS[move](request.POST) if move in FORMS else None
    if form is not None and not form.is_valid():
        return _page(request, opened, referral, {move: form}, status=400)
    data = form.cleaned_data if form is not None else {}
    try:
        referral_services.referral_move(
            actor=opened.actor, referral_id=referral.pk, action=move, **data
        )
    except NotAllowed as refusal:  # decided by the service from the record (journaled)
        return _not_allowed(request, refusal)
    except INPUT_ERRORS as error:
        if form is not None:
            apply_domain_error(form, error)
            return _page(request, opened, referral, {move: form}, status=400)
        messages.error(request, error_sentence(error))
    else:
        messages.success(
            request, f"Orientation {referral.reference} : « {ACTION_LABELS[move]} » fait."
        )
    return redirect("web:receiver-link", referral_pk=referral.pk, token=token)


# --- The sender's side: the link's state on the referral page, its revocation, a new link ----

SENDER_MOVES = {
    "revoquer": (GateAction.RECEIVER_LINK_REVOKE, link_services.receiver_link_revoke),
    "nouveau": (GateAction.RECEIVER_LINK_ISSUE, link_services.receiver_link_issue),
}


def sender_block(actor, referral: Referral) -> dict | None:
    """What the referral page shows its sender of the receiver's link: its state and the
    buttons the gate's table allows (None: no link ever, or not the sender's to see)."""
    relations = relations_to_referral(actor, referral)
    allowed = {slug: gate.may(actor, rule, relations) for slug, (rule, _) in SENDER_MOVES.items()}
    if not any(allowed.values()):
        return None
    link = link_services.current_link(referral)
    if link is None:
        return None
    return {
        "link": link,
        "state": link.state(),
        "may_revoke": allowed["revoquer"],
        "may_issue": allowed["nouveau"],
    }


@require_POST
@member_required
def referral_receiver_link(request, pk: int, what: str):
    """« Révoquer le lien » / « Envoyer un nouveau lien »: the sender, through the same
    services as the API; a refusal of the gate is the 403 page, a conflict a message."""
    if what not in SENDER_MOVES:
        raise Http404
    _rule, service = SENDER_MOVES[what]
    try:
        service(actor=request.actor, referral_id=pk)
    except Referral.DoesNotExist:
        raise Http404 from None
    except NotAllowed:
        raise  # the 403 page (member_required)
    except Conflict as error:
        messages.error(request, error_sentence(error))
    else:
        messages.success(
            request,
            "Lien d'accès révoqué : il n'ouvre plus rien."
            if what == "revoquer"
            else "Nouveau lien envoyé à l'adresse de contact du destinataire ; l'ancien est "
            "révoqué.",
        )
    return redirect("web:referral-detail", pk=pk)
