"""The sender's answers (issue 14): « marquer comme vu » from the home's « Réponses à vos
orientations ». The list itself is part of the home page (web/views/home.py)."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from notifications.services.answers import answer_mark_seen

from ..actor import member_required


@require_POST
@member_required
def answer_seen(request, pk: int):
    """Out of the user's answers (another user's, another organisation's, a referral no longer
    seen) is a 404, like a missing one (member_required)."""
    answer_mark_seen(actor=request.actor, notice_id=pk)
    messages.success(request, "Réponse marquée comme vue : elle quitte votre liste « À traiter ».")
    return HttpResponseRedirect(reverse("web:home") + "#reponses")
