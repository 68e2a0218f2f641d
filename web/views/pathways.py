"""Writes on a pathway from the pages: a note, a barrier, the modality, the référent, closing,
reactivating an archived record. One table says, for each, the gate's action, its form, the
service it calls and what the user reads; one view serves them all, through the same services
and gate as the API (`PathwayViewSet` in parcours/api/views.py)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from parcours import access, gate
from parcours.actor import Actor
from parcours.errors import NotAllowed
from parcours.gate import Action
from parcours.models import Pathway
from parcours.services import archive as archive_services
from parcours.services import pathway as pathway_services

from ..actor import member_required
from ..confirmations import Confirmation, pathway_close_confirmation
from ..forms import INPUT_ERRORS, apply_domain_error
from ..identity import name_shown
from ..pathway_forms import (
    BarrierForm,
    CloseForm,
    ModalityForm,
    NoteForm,
    PathwayForm,
    ReactivateForm,
    ReferentForm,
)


@dataclass(frozen=True)
class PathwayWrite:
    action: Action
    title: str
    form: type[PathwayForm]
    submit: str
    done: str
    call: Callable[[Actor, int, dict[str, Any]], object]
    destructive: bool = False
    # What the confirmation modal says (the person named when the page may name her).
    confirmation: Callable[[Pathway, bool], Confirmation] | None = None


WRITES: dict[str, PathwayWrite] = {
    "note": PathwayWrite(
        Action.PATHWAY_ADD_NOTE,
        "Ajouter une note",
        NoteForm,
        "Ajouter au parcours",
        "La note est ajoutée à la chronologie du parcours.",
        lambda actor, pk, data: pathway_services.pathway_add_note(
            actor=actor, pathway_id=pk, kind=data["kind"], text=data["text"]
        ),
    ),
    "frein": PathwayWrite(
        Action.PATHWAY_RECORD_BARRIER,
        "Mettre à jour un frein périphérique",
        BarrierForm,
        "Enregistrer le frein",
        "Le frein est enregistré (l'historique de ses statuts est conservé).",
        lambda actor, pk, data: pathway_services.barrier_record(
            actor=actor,
            pathway_id=pk,
            kind=data["kind"],
            status=data["status"],
            detail=data["detail"],
        ),
    ),
    "modalite": PathwayWrite(
        Action.PATHWAY_SET_MODALITY,
        "Changer la modalité d'accompagnement",
        ModalityForm,
        "Changer la modalité",
        "La modalité d'accompagnement est changée.",
        lambda actor, pk, data: pathway_services.pathway_set_modality(
            actor=actor, pathway_id=pk, modality=data["modality"]
        ),
    ),
    "referent": PathwayWrite(
        Action.PATHWAY_SET_REFERENT,
        "Changer de référent",
        ReferentForm,
        "Désigner ce référent",
        "Le référent est changé.",
        lambda actor, pk, data: pathway_services.pathway_set_referent(
            actor=actor, pathway_id=pk, referent_id=data["referent"].pk
        ),
    ),
    "cloture": PathwayWrite(
        Action.PATHWAY_CLOSE,
        "Clôturer le parcours",
        CloseForm,
        "Clôturer le parcours",
        "Le parcours est clôturé.",
        lambda actor, pk, data: pathway_services.pathway_close(
            actor=actor, pathway_id=pk, outcome=data["outcome"]
        ),
        destructive=True,
        confirmation=lambda pathway, named: pathway_close_confirmation(pathway, named=named),
    ),
    "reactivation": PathwayWrite(
        Action.PATHWAY_REACTIVATE,
        "Réactiver le dossier archivé",
        ReactivateForm,
        "Réactiver le dossier",
        "Le dossier est réactivé : les partenaires qui le suivaient le voient à nouveau.",
        lambda actor, pk, data: archive_services.pathway_reactivate(
            actor=actor, pathway_id=pk, reason=data["reason"]
        ),
    ),
}
# The person page's links, in this order, for the actions the gate allows.
WRITE_OF_ACTION = {write.action: slug for slug, write in WRITES.items()}


@member_required
def pathway_write(request, pathway_pk: int, write: str):
    spec = WRITES.get(write)
    if spec is None:
        raise Http404
    actor = request.actor
    # A partner the table refuses gets the 403 page, not a form that fails.
    pathway = gate.pathway_for(actor, pathway_pk, spec.action, category=None, lock=False)
    grants = access.grants_for(actor, [pathway.pk])
    held = grants.get(pathway.pk)
    categories = frozenset(held.categories) if held is not None else frozenset()
    form = spec.form(request.POST or None, pathway=pathway, actor=actor, categories=categories)
    if request.method == "POST" and form.is_valid():
        try:
            spec.call(actor, pathway.pk, form.cleaned_data)
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, spec.done)
            return redirect("web:person-detail", pk=pathway.person_id)
    # The title names the person when the organisation sees their identity (journaled); a
    # form shown again after a mistake does not name her (nothing read, nothing journaled).
    shows_identity = name_shown(actor, pathway, grants=grants, journal=request.method != "POST")
    return render(
        request,
        "web/pathways/write.html",
        {
            "spec": spec,
            "form": form,
            "pathway": pathway,
            "shows_identity": shows_identity,
            "confirmation": spec.confirmation(pathway, shows_identity)
            if spec.confirmation
            else None,
        },
        status=400 if form.errors else 200,
    )
