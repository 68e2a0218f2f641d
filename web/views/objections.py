"""The person's objection to sharing (GDPR art. 21) from the pages: recorded by a case worker
who works with the person, withdrawn by the organisation that leads the pathway; consent-based
visibility closes at once. The same services and gate as /api/v1/objections/."""

from django.contrib import messages
from django.shortcuts import redirect

from parcours import access, gate
from parcours.errors import NotAllowed
from parcours.gate import Action
from parcours.services import consent as consent_services

from ..actor import member_required
from ..forms import INPUT_ERRORS, apply_domain_error, error_sentence
from ..pathway_forms import ObjectionForm
from .persons import _person_page as person_page


@member_required
def objection_record(request, pk: int):
    if request.method != "POST":  # the form is on the person's page
        return redirect("web:person-detail", pk=pk)
    form = ObjectionForm(request.POST)
    if form.is_valid():
        try:  # the service finds the person within the actor's scope (404 otherwise)
            consent_services.objection_record(
                actor=request.actor, person_id=pk, reason=form.cleaned_data["reason"]
            )
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.warning(
                request,
                "L'opposition est enregistrée : les partages fondés sur l'accord de la personne "
                "sont fermés.",
            )
            return redirect("web:person-detail", pk=pk)
    # Shown again, open, with what the person said as typed and what is wrong.
    actor = request.actor
    person = gate.locate(actor, access.persons_visible_to(actor), pk, action=Action.PERSON_READ)
    return person_page(request, person, objection_form=form, status=400)


@member_required
def objection_withdraw(request, pk: int, objection_pk: int):
    if request.method == "POST":
        try:  # found within the actor's scope (404 otherwise)
            consent_services.objection_withdraw(actor=request.actor, objection_id=objection_pk)
        except NotAllowed:
            raise
        except INPUT_ERRORS as error:
            messages.error(request, error_sentence(error))
        else:
            messages.success(request, "L'opposition est levée.")
    return redirect("web:person-detail", pk=pk)
