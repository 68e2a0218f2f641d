"""The person's objection to sharing (GDPR art. 21) from the pages: recorded by a case worker
who works with the person, withdrawn by the organisation that leads the pathway; consent-based
visibility closes at once. The same services and gate as /api/v1/objections/."""

from django.contrib import messages
from django.shortcuts import redirect

from parcours.errors import DomainError, NotAllowed
from parcours.services import consent as consent_services

from ..actor import member_required
from ..pathway_forms import ObjectionForm


@member_required
def objection_record(request, pk: int):
    if request.method != "POST":  # the form is on the person's page
        return redirect("web:person-detail", pk=pk)
    form = ObjectionForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            "L'opposition n'est pas enregistrée : "
            + " ".join(e for errors in form.errors.values() for e in errors),
        )
        return redirect("web:person-detail", pk=pk)
    try:  # the service finds the person within the actor's scope (404 otherwise)
        consent_services.objection_record(
            actor=request.actor, person_id=pk, reason=form.cleaned_data["reason"]
        )
    except NotAllowed:
        raise  # the gate's refusal: the 403 page (member_required)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.warning(
            request,
            "L'opposition est enregistrée : les partages fondés sur l'accord de la personne "
            "sont fermés.",
        )
    return redirect("web:person-detail", pk=pk)


@member_required
def objection_withdraw(request, pk: int, objection_pk: int):
    if request.method == "POST":
        try:  # found within the actor's scope (404 otherwise)
            consent_services.objection_withdraw(actor=request.actor, objection_id=objection_pk)
        except NotAllowed:
            raise
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "L'opposition est levée.")
    return redirect("web:person-detail", pk=pk)
