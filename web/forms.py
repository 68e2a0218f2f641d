"""Page forms. They validate shapes and types; every business rule stays in the services, whose
French errors (InvalidInput.fields, DuplicatePerson…) are put back on the form."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from notifications.models import DeliveryMode
from parcours import access, evidence
from parcours.categories import PERSON_FIELDS, SENSITIVE_CATEGORIES, DataCategory
from parcours.dates import UTC_OFFSET_INVALID, has_storable_offset
from parcours.errors import DomainError
from parcours.models import (
    MESSAGE_MAX_LENGTH,
    AppointmentChannel,
    BarrierKind,
    EmploymentArea,
    EvidenceKind,
    Organisation,
    OrganisationKind,
    ReferralKind,
    ReferralOutcome,
    RefusalReason,
    Service,
)
from parcours.services.consent import RECIPIENT_REQUIRED, ConsentChoice

# The lengths of the API's serializers, so that a page refuses what the API refuses (in French)
# instead of the database. Identifiers as a person types them: a NIR with its spaces
# (1 85 05 62 041 123 45), a France Travail id with a stray one.
from .form_base import Form

NIR_TYPED = 21
FRANCE_TRAVAIL_ID_TYPED = 15


class PersonForm(Form):
    """The person's record as the pages create and rectify it: every field the services edit
    (PERSON_EDITABLE_FIELDS), shown in one fieldset per data category (`fieldsets`). The edit
    page keeps only the fields the service lets the actor rectify."""

    first_name = forms.CharField(label=_("Prénom"), max_length=100)
    last_name = forms.CharField(label=_("Nom"), max_length=100)
    birth_date = forms.DateField(
        label=_("Date de naissance"), widget=forms.DateInput(attrs={"type": "date"})
    )
    # Identifiers as typed (spaces allowed: the service normalises them, the model checks them).
    nir = forms.CharField(
        label=_("NIR (numéro de sécurité sociale)"), required=False, max_length=NIR_TYPED
    )
    france_travail_id = forms.CharField(
        label=_("Identifiant France Travail"), required=False, max_length=FRANCE_TRAVAIL_ID_TYPED
    )
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        max_length=254,
        help_text=_("Format attendu : nom@domaine.fr"),
    )
    phone = forms.CharField(
        label=_("Téléphone"),
        required=False,
        max_length=20,
        help_text=_("Par exemple 06 12 34 56 78, ou +33 6 12 34 56 78"),
    )
    address = forms.CharField(
        label=_("Adresse"),
        required=False,
        max_length=300,
        help_text=_("Numéro et voie, complément d'adresse"),
    )
    # Longer than 5: « 62 300 » is the service's French error (5 digits), not a length's.
    postal_code = forms.CharField(
        label=_("Code postal"), required=False, max_length=10, help_text=_("5 chiffres")
    )
    city = forms.CharField(label=_("Commune"), required=False, max_length=100)
    receives_rsa = forms.BooleanField(
        label=_("Bénéficiaire du revenu de solidarité active (rSa)"), required=False
    )
    receives_ass = forms.BooleanField(
        label=_("Bénéficiaire de l'allocation de solidarité spécifique (ASS)"), required=False
    )
    rights_ending = forms.BooleanField(
        label=_("En fin de droits"),
        required=False,
        help_text=_("Ses droits à l'allocation chômage arrivent à leur terme."),
    )
    rights_end_date = forms.DateField(
        label=_("Date de fin de droits (si elle est connue)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_(
            "Quelques semaines avant, le référent et le Conseil départemental qui suit la "
            "personne sont prévenus : elle pourrait relever du rSa."
        ),
    )
    lives_in_qpv = forms.BooleanField(
        label=_("Réside dans un quartier prioritaire de la politique de la ville (QPV)"),
        required=False,
    )
    rqth = forms.BooleanField(
        label=_("Reconnaissance de la qualité de travailleur handicapé (RQTH)"), required=False
    )
    court_supervision = forms.BooleanField(
        label=_("Fait l'objet d'un suivi judiciaire"),
        required=False,
        help_text=_(
            "Par exemple un suivi par le service pénitentiaire d'insertion et de probation."
        ),
    )

    # What each category's fieldset says under its legend (the legend is the category's label);
    # the sensitive ones (categories.SENSITIVE_CATEGORIES: consent only) say so.
    CATEGORY_HINTS = {
        DataCategory.PATHWAY: _("Situation administrative"),
        DataCategory.SOCIAL: _("Situation sociale"),
    }
    SENSITIVE_HINT = _(
        "Donnée sensible : les partenaires ne la voient qu'avec l'accord de la personne."
    )

    def fieldsets(self) -> list[tuple[str, str, str, list]]:
        """(id, legend, hint, bound fields) per data category, in the categories' order, for
        the fields the form holds (the edit page holds only those the actor may rectify)."""
        groups = []
        for category in DataCategory:
            fields = [
                self[name] for name in self.fields if PERSON_FIELDS.get(name) == category.value
            ]
            if fields:
                hint = str(
                    self.SENSITIVE_HINT
                    if category in SENSITIVE_CATEGORIES
                    else self.CATEGORY_HINTS.get(category, "")
                )
                groups.append((f"fiche-{category.value}", str(category.label), hint, fields))
        return groups


class PersonSearchForm(Form):
    last_name = forms.CharField(label=_("Nom (début)"), required=False, max_length=100)
    birth_date = forms.DateField(
        label=_("Date de naissance"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    france_travail_id = forms.CharField(
        label=_("Identifiant France Travail"), required=False, max_length=FRANCE_TRAVAIL_ID_TYPED
    )
    nir = forms.CharField(label=_("NIR (recherche exacte)"), required=False, max_length=NIR_TYPED)


# The consent form's boxes of the categories shared with one picked organisation only.
SHARED_WITH = "partage_"


def shared_with(data, organisation_id: int) -> list[str]:
    """The categories ticked under a picked organisation's name (in a request's data)."""
    getlist = getattr(data, "getlist", None)
    return getlist(f"{SHARED_WITH}{organisation_id}") if getlist else []


class ConsentForm(Form):
    # Validated against the whole directory; rendered by the organisation picker
    # (web/templates/web/directory/_picker.html: the organisations picked and a search), never
    # as one checkbox per organisation. Not required by itself: a consent may name kinds of
    # organisation only (`clean` asks for one or the other).
    organisations = forms.ModelMultipleChoiceField(
        label=_("Organisations destinataires"),
        queryset=Organisation.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    # Kinds of organisation covered as a whole (the API's `organisation_kinds`): every
    # organisation of a kind ticked sees, once it works with the person, the categories shared
    # with all (below) — never a picked organisation's own categories, which the person chose
    # for that organisation only.
    organisation_kinds = forms.MultipleChoiceField(
        label=_("Types d'organisation"),
        choices=OrganisationKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "Toute organisation de ces types qui accompagne la personne reçoit les catégories "
            "partagées avec tous, ci-dessous."
        ),
    )
    # What the person agrees to share, per category: with every organisation picked and every
    # kind ticked (this field) and, beyond, with some of the organisations only (each picked
    # organisation's own boxes, `shared_with`, under its name in the picker). One consent per
    # group of categories going to the same recipients (services.consent.consent_record_choices).
    categories = forms.MultipleChoiceField(
        label=_("Catégories partagées avec tous les organismes et types cochés"),
        choices=DataCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "Une catégorie que la personne ne partage qu'avec certains organismes se coche sous "
            "leur nom, dans la liste ci-dessus."
        ),
    )
    purpose = forms.CharField(
        label=_("Finalité"), max_length=300, initial=_("Coordination de l'accompagnement")
    )
    starts_on = forms.DateField(
        label=_("Valable à partir du"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Vide : dès aujourd'hui. Un accord qui commence plus tard s'ouvre ce jour-là."),
    )
    ends_on = forms.DateField(
        label=_("Jusqu'au"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Vide : sans date de fin (la personne peut le retirer à tout moment)."),
    )
    evidence_kind = forms.ChoiceField(label=_("Preuve du recueil"), choices=EvidenceKind.choices)
    evidence_file = forms.FileField(
        label=_("Pièce justificative (formulaire signé…)"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = evidence.size_label(evidence.max_bytes())  # the setting's, read per form
        self.fields["evidence_file"].help_text = _(
            "PDF, JPEG ou PNG de %(limit)s au plus ; facultatif pour un accord recueilli oralement."
        ) % {"limit": limit}

    def clean_evidence_file(self):
        """The one rule on evidence files (parcours/evidence.py): the type by the content, an
        extension that agrees, the size."""
        upload = self.cleaned_data.get("evidence_file")
        if upload and (refused := evidence.errors(upload)):
            raise ValidationError(refused)
        return upload

    def clean(self):
        """The choices per category (ConsentChoice), from the categories for all and each
        picked organisation's own: every category it is shared with, and with whom (the kinds
        ticked get the categories for all)."""
        cleaned = super().clean()
        organisations = cleaned.get("organisations") or []
        kinds = sorted(cleaned.get("organisation_kinds") or [])
        common = set(cleaned.get("categories") or [])
        if not organisations and not kinds:
            # An unknown organisation or kind already says what is wrong with the recipients.
            if not self.has_error("organisations") and not self.has_error("organisation_kinds"):
                self.add_error("organisations", RECIPIENT_REQUIRED)
                self.add_error("organisation_kinds", RECIPIENT_REQUIRED)
            return cleaned
        if kinds and not common and not self.has_error("categories"):
            self.add_error(
                "categories", _("Cochez les catégories que reçoivent les types d'organisation.")
            )
        recipients: dict[str, list[int]] = {c: [] for c in DataCategory.values}
        for organisation in organisations:
            own = set(shared_with(self.data, organisation.pk))
            if own - set(DataCategory.values):
                self.add_error(
                    "organisations", _("Choisissez des catégories de données parmi la liste.")
                )
                return cleaned
            if not common | own:
                self.add_error(
                    "organisations",
                    _("Choisissez au moins une catégorie partagée avec « %(name)s ».")
                    % {"name": organisation.name},
                )
            for category in common | own:
                recipients[category].append(organisation.pk)
        cleaned["choices"] = [
            ConsentChoice(
                [category],
                organisation_ids=recipients[category],
                organisation_kinds=kinds if category in common else [],
            )
            for category in DataCategory.values
            if recipients[category] or (kinds and category in common)
        ]
        return cleaned


class ConsentNarrowForm(Form):
    """Narrowing keeps fewer categories (a wider consent is a new one, with its evidence)."""

    categories = forms.MultipleChoiceField(
        label=_("Catégories à conserver"),
        choices=DataCategory.choices,
        widget=forms.CheckboxSelectMultiple,
    )


class BreakGlassForm(Form):
    category = forms.ChoiceField(label=_("Catégorie"), choices=DataCategory.choices)
    reason = forms.CharField(
        label=_("Motif"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class SearchInput(forms.TextInput):
    input_type = "search"


class DirectoryFilterForm(Form):
    """The pickers' search (prefix "annuaire": the referral form has a `kind` of its own)."""

    q = forms.CharField(
        label=_("Nom de l'organisme ou d'un de ses services"),
        required=False,
        max_length=100,
        widget=SearchInput,
    )
    area = forms.ModelChoiceField(
        label=_("Bassin d'emploi"),
        queryset=EmploymentArea.objects.order_by("name"),
        required=False,
        empty_label=_("Tous"),
    )
    kind = forms.ChoiceField(
        label=_("Type d'organisme"),
        choices=[("", _("Tous")), *OrganisationKind.choices],
        required=False,
    )
    barrier = forms.ChoiceField(
        label=_("Frein traité"),
        choices=[("", _("Tous")), *BarrierKind.choices],
        required=False,
    )


class ReferralForm(Form):
    # Validated against the whole directory; rendered by the organisation picker, like
    # ConsentForm.organisations, and the chosen organisation's services by its sheet
    # (web/templates/web/directory/_sheet.html).
    receiver_organisation = forms.ModelChoiceField(
        label=_("Organisme destinataire"),
        queryset=Organisation.objects.order_by("name"),
        widget=forms.RadioSelect,
    )
    receiver_service = forms.ModelChoiceField(
        label=_("Service (facultatif)"), queryset=Service.objects.none(), required=False
    )
    kind = forms.ChoiceField(label=_("Type d'orientation"), choices=ReferralKind.choices)
    shared_categories = forms.MultipleChoiceField(
        label=_("Catégories partagées avec le destinataire"),
        choices=DataCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("L'identité et le parcours sont toujours partagés."),
    )
    reason = forms.CharField(
        label=_("Motif de l'orientation"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )
    context_note = forms.CharField(
        label=_("Éléments de contexte"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=10000,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        organisation_id = self.data.get("receiver_organisation") or self.initial.get(
            "receiver_organisation"
        )
        if str(organisation_id or "").isascii() and str(organisation_id or "").isdigit():
            # Only an id: a typed "abc" is the organisation field's error, not a query's crash.
            self.fields["receiver_service"].queryset = Service.objects.filter(
                organisation_id=organisation_id, is_active=True
            )


class RefuseForm(Form):
    refusal_reason = forms.ChoiceField(label=_("Motif de refus"), choices=RefusalReason.choices)
    comment = forms.CharField(
        label=_("Commentaire"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
    )


class AppointmentForm(Form):
    starts_at = forms.DateTimeField(
        label=_("Date et heure du rendez-vous"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"],
    )
    channel = forms.ChoiceField(label=_("Modalité"), choices=AppointmentChannel.choices)
    place = forms.CharField(label=_("Lieu"), required=False, max_length=300)

    def clean_starts_at(self):
        # Django's field also reads ISO 8601 with an offset, one PostgreSQL may not store.
        starts_at = self.cleaned_data["starts_at"]
        if not has_storable_offset(starts_at):
            raise ValidationError(UTC_OFFSET_INVALID, code="utc_offset")
        return starts_at


class CloseForm(Form):
    outcome = forms.ChoiceField(label=_("Suite donnée"), choices=ReferralOutcome.choices)
    comment = forms.CharField(
        label=_("Retour d'information"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
    )


class CorrectAttendanceForm(Form):
    reason = forms.CharField(
        label=_("Motif de la correction"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        help_text=_("Ce qui s'est réellement passé ; gardé dans l'historique de l'orientation."),
    )


class AssignForm(Form):
    """« Confier à »: one of the receiving organisation's active case workers (the service
    checks it again, with the referral's state)."""

    user = forms.ModelChoiceField(
        label=_("Confier à"),
        queryset=None,
        empty_label=_("Choisissez un conseiller"),
        error_messages={
            "required": _("Choisissez le conseiller à qui confier l'orientation."),
            "invalid_choice": _(
                "Choisissez un conseiller ou un travailleur social actif de votre organisation."
            ),
        },
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["user"]
        field.queryset = access.assignee_candidates(actor)
        field.label_from_instance = lambda user: user.get_full_name() or user.get_username()
        # The options read once, by one plain SELECT: Django's ModelChoiceIterator reads them
        # through a server-side cursor (DECLARE, FETCH, CLOSE: three round trips on every
        # referral's page). The answer is still checked against the queryset.
        field.choices = [
            ("", field.empty_label),
            *((user.pk, field.label_from_instance(user)) for user in field.queryset),
        ]


class ReferralMessageForm(Form):
    """A message on a referral's thread (the service checks the text again, as for the API)."""

    text = forms.CharField(
        label=_("Votre message"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MESSAGE_MAX_LENGTH,
        help_text=_(
            "Lu par l'autre organisation de l'orientation, qui est prévenue par e-mail (sans le "
            "texte). N'y écrivez ni information de santé ni information de justice ; "
            "2 000 caractères au plus."
        ),
    )


class PreferenceForm(Form):
    mode = forms.ChoiceField(
        label=_("Réception des alertes"), choices=DeliveryMode.choices, widget=forms.RadioSelect
    )
    answers_mode = forms.ChoiceField(
        label=_("Réception des réponses à vos orientations"),
        help_text=_(
            "Quand une structure accepte ou refuse une orientation que vous avez envoyée, fixe ou "
            "déplace un rendez-vous, constate la venue ou l'absence de la personne, ou clôture "
            "l'orientation. Chaque réponse figure aussi sur votre page « À traiter »."
        ),
        choices=[
            (DeliveryMode.IMMEDIATE, _("Immédiatement, un e-mail par réponse")),
            (DeliveryMode.DIGEST, _("Dans le récapitulatif quotidien")),
        ],
        widget=forms.RadioSelect,
    )


class ActingOrganisationForm(Form):
    organisation = forms.ChoiceField(label=_("Organisation pour laquelle vous agissez"))

    def __init__(self, *args, memberships=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = [
            (m.organisation_id, f"{m.organisation.name} — {m.get_role_display()}")
            for m in memberships
        ]


# What a service raises on bad input, to put back on the page's form: the domain's errors
# (InvalidInput.fields, DuplicatePerson…, all French) and Django's ValidationError from model
# validation in the services (full_clean: NIR, France Travail id, birth date…). A view catches
# NotAllowed before these: the gate's refusal is the 403 page, not a form error.
INPUT_ERRORS = (DomainError, ValidationError)


def error_messages_by_field(error: Exception) -> dict[str | None, list[str]]:
    """A service error's French messages by field name (None: the whole form)."""
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return {
                (None if field == NON_FIELD_ERRORS else field): list(messages)
                for field, messages in error.message_dict.items()
            }
        return {None: list(error.messages)}
    fields: dict[str | None, list[str]] = {
        field: list(messages) for field, messages in getattr(error, "fields", {}).items()
    }
    return fields or {None: [getattr(error, "message", str(error))]}


def error_sentence(error: Exception) -> str:
    """A service error in one French sentence, for a message above a page without a form."""
    if isinstance(error, DomainError):
        return error.message
    return " ".join(m for messages in error_messages_by_field(error).values() for m in messages)


def apply_domain_error(form: forms.Form, error: Exception) -> None:
    """Put a service's French error on the form: on the field it names when the form shows
    that field, else above the form (a domain error's own sentence then, which says what is
    wrong without the field's context); the values typed stay in the bound form."""
    above: list[str] = []
    for field, messages in error_messages_by_field(error).items():
        if field is not None and field in form.fields:
            for message in messages:
                form.add_error(field, message)
        else:
            above.extend(messages)
    if above and isinstance(error, DomainError) and error.fields:
        above = [error.message]
    for message in dict.fromkeys(above):  # once each, in order
        form.add_error(None, message)
