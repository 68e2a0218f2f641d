"""The partner directory and its pickers: the consent and referral forms never list the whole
directory (2,000 organisations at national scale), they show the organisations picked and a
search that htmx refreshes as the user types (`organisation_picker`), and, on the referral form,
the chosen organisation's services and delays (`organisation_sheet`). Without JavaScript the same
fragments are rendered inside the forms' pages (a "Rechercher" button posts the form back) and
the two URLs are ordinary pages (the directory and an organisation's sheet).

The directory holds no personal data: listing it is not journaled."""

from dataclasses import dataclass
from dataclasses import field as dc_field

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from parcours.categories import DataCategory
from parcours.models import BarrierKind, EmploymentArea, Organisation
from parcours.selectors import directory
from parcours.services.delays import delays_for, ladders_for

from ..actor import member_required
from ..forms import DirectoryFilterForm, shared_with

PREFIX = "annuaire"
# The form fields a picker stands for: name → (several may be picked, its label, the HTML id).
PICKED_FIELDS = {
    "organisations": (True, "Organisations destinataires", "accord-organismes"),
    "receiver_organisation": (False, "Organisme destinataire", "orientation-organisme"),
    "organisation": (False, "Organisation à ajouter", "equipe-organisme"),  # the care team's
}
# The pickers whose organisations each take categories of their own (the consent form's).
SHARES_PER_ORGANISATION = {"organisations"}
# A form never holds more picks than this (a consent names a few organisations).
MAX_PICKED = 50


@dataclass
class Picker:
    """What the picker template needs: the search, the organisations picked (checked) and the
    ones found (not picked), at most `directory.PICKER_LIMIT`."""

    field: str | None  # the form field (None: the directory page, links instead of inputs)
    multiple: bool
    label: str
    id: str
    filters: DirectoryFilterForm
    picked: list[Organisation] = dc_field(default_factory=list)
    found: list[Organisation] = dc_field(default_factory=list)
    more: bool = False
    searched: bool = False
    errors: list = dc_field(default_factory=list)  # the form field's own errors
    # The consent form's: the categories that may be shared with one picked organisation only
    # (each organisation's `shared`, the ones ticked under its name).
    share_choices: list = dc_field(default_factory=list)

    @property
    def sheet(self) -> bool:
        """The referral form's picker: the chosen organisation's sheet shows under it."""
        return self.field == "receiver_organisation"

    @property
    def area_options(self) -> list[tuple[int, str, bool]]:
        """The employment areas of the area filter: (id, label, selected), read as plain values
        (a ModelChoiceField's own rendering builds and renders ~100 model instances)."""
        chosen = str(self.filters["area"].value() or "")
        return [
            (pk, f"{name} ({departement})", str(pk) == chosen)
            for pk, name, departement in EmploymentArea.objects.order_by("name").values_list(
                "pk", "name", "departement"
            )
        ]

    @property
    def status(self) -> str:
        """The count a screen reader hears after each search (role="status")."""
        if self.filters.is_bound and not self.filters.is_valid():
            return "La recherche n'a pas pu être faite : corrigez les critères signalés."
        if not self.searched:
            if self.found:
                return "Organismes déjà en lien avec le parcours ; recherchez-en d'autres."
            return "Saisissez une partie du nom ou choisissez un critère pour chercher."
        if self.more:
            return (
                f"Plus de {directory.PICKER_LIMIT} organismes correspondent : les "
                f"{directory.PICKER_LIMIT} premiers sont affichés, précisez la recherche."
            )
        if not self.found and self.picked:  # what matches is already ticked above
            return "Aucun autre organisme ne correspond à cette recherche."
        if not self.found:
            return "Aucun organisme ne correspond à cette recherche."
        return f"{len(self.found)} organisme(s) trouvé(s)."


def picked_ids(values) -> list[int]:
    """The ids a form sent back, as numbers (anything else ignored: the form field says why)."""
    ids = []
    for value in values or ():
        text = str(value)
        if text.isascii() and text.isdigit() and len(text) < 10 and int(text) not in ids:
            ids.append(int(text))
    return ids[:MAX_PICKED]


def build_picker(
    actor,
    *,
    field_name: str | None,
    data=None,
    picked=(),
    suggested=(),
    errors=(),
    label: str | None = None,
) -> Picker:
    """The picker of a form field (`field_name`), or of the directory page (None).

    `data`: the request's values holding the search (prefixed "annuaire-"); `picked`: the ids
    the form holds; `suggested`: ids to offer before any search (e.g. the organisations the
    pathway's referrals involve), read with the picked ones in one query; `label`: the field's
    name when a page words it otherwise (the partner proposed by a réorientation)."""
    multiple, default_label, html_id = PICKED_FIELDS.get(field_name or "", (False, "", "annuaire"))
    label = label or default_label
    filters = DirectoryFilterForm(data or None, prefix=PREFIX, auto_id=f"{html_id}-%s")
    picker = Picker(
        field=field_name if field_name in PICKED_FIELDS else None,
        multiple=multiple,
        label=label,
        id=html_id,
        filters=filters,
        errors=list(errors),
    )
    if picker.field is None:
        picked = ()
    picked_list = picked if isinstance(picked, list | tuple) else [picked]
    ids = picked_ids(picked_list)[: MAX_PICKED if multiple else 1]
    query = _query(filters)
    offered = [] if query else [i for i in picked_ids(suggested) if i not in ids]
    known = (
        {o.pk: o for o in directory.organisations_by_ids(actor, ids + offered)}
        if (ids or offered)
        else {}
    )
    picker.picked = [known[i] for i in ids if i in known]
    if query:
        picker.searched = True
        found, picker.more = directory.picker_page(
            actor, query, limit=directory.PICKER_LIMIT + len(picker.picked)
        )
    else:  # before any search: the suggestions (never the acting organisation)
        found = [known[i] for i in offered if i in known and i != actor.organisation.pk]
    shown = {o.pk for o in picker.picked}
    picker.found = [o for o in found if o.pk not in shown][: directory.PICKER_LIMIT]
    if field_name in SHARES_PER_ORGANISATION:
        picker.share_choices = DataCategory.choices
        for organisation in picker.picked + picker.found:
            organisation.shared = shared_with(data, organisation.pk)
    return picker


def _query(filters: DirectoryFilterForm) -> directory.DirectoryQuery:
    if not filters.is_bound or not filters.is_valid():
        return directory.DirectoryQuery()
    data = filters.cleaned_data
    return directory.DirectoryQuery(
        text=data["q"].strip(),
        area=data["area"],
        kind=data["kind"],
        barrier=data["barrier"],
    )


@member_required
@vary_on_headers("HX-Request")
def organisation_picker(request):
    """The directory searched: htmx asks for the results of a form's picker (`champ` names the
    field, the picked ids come back under its name) or of the directory page; without htmx,
    the directory page."""
    field_name = request.GET.get("champ")
    # Inputs only inside a form's picker (htmx); the directory page lists links.
    field_name = field_name if request.htmx and field_name in PICKED_FIELDS else None
    picker = build_picker(
        request.actor,
        field_name=field_name,
        data=request.GET,
        picked=request.GET.getlist(field_name) if field_name else (),
    )
    if request.htmx:
        return render(request, "web/directory/_results.html", {"picker": picker, "oob": True})
    return render(
        request,
        "web/directory/organisations.html",
        {"picker": picker, "limit": directory.PICKER_LIMIT},
    )


@dataclass
class Sheet:
    organisation: Organisation
    delays: object
    field: str | None = None  # "receiver_service": radios to choose a service in a form
    chosen: str = ""  # the service already chosen (its id)
    errors: list = dc_field(default_factory=list)
    ladder: object = None  # the escalation ladder of an alert on a referral between the two


def build_sheet(actor, organisation: Organisation, *, field_name=None, chosen="", errors=()):
    """An organisation's sheet: its active services (description, eligibility, the barriers
    they address, the usual delay) and the delays that bind it towards the actor's
    organisation (the agreement in force, else its own, else the defaults)."""
    for service in organisation.active_services:  # codes in words, never the raw code
        service.barrier_labels = [str(BarrierKind(code).label) for code in _barrier_codes(service)]
    today = timezone.localdate()
    pair = (actor.organisation.pk, organisation.pk)
    return Sheet(
        organisation=organisation,
        delays=delays_for(sender=actor.organisation, receiver=organisation, on=today),
        field=field_name,
        chosen=str(chosen or ""),
        errors=list(errors),
        ladder=ladders_for(pairs=[pair], on=today)[pair],
    )


def _barrier_codes(service) -> list[str]:
    codes = service.barriers_addressed if isinstance(service.barriers_addressed, list) else []
    return [code for code in codes if code in BarrierKind.values]


@member_required
@vary_on_headers("HX-Request")
def organisation_sheet(request, pk: int):
    """An organisation's sheet: the referral form's services to choose from (htmx, `champ`
    = "receiver_service"), or a page of its own."""
    organisation = directory.organisation_with_services(request.actor, pk)  # 404 if missing
    field_name = "receiver_service" if request.GET.get("champ") == "receiver_service" else None
    sheet = build_sheet(request.actor, organisation, field_name=field_name)
    if request.htmx:
        return render(request, "web/directory/_sheet.html", {"sheet": sheet, "oob": True})
    return render(request, "web/directory/organisation.html", {"sheet": sheet})


def search_again(form_class, data, **kwargs):
    """A form shown again after the pickers' « Rechercher » without JavaScript: what was typed
    and ticked kept as initial values (nothing validated, no error shown, nothing saved)."""
    initial = {
        name: data.getlist(name)
        if getattr(field.widget, "allow_multiple_selected", False)
        else data.get(name)
        for name, field in form_class.base_fields.items()
        if name in data
    }
    return form_class(initial=initial, **kwargs)
