"""Every named database constraint of `parcours.models`, plus the field validators.

Each constraint case builds its prerequisites, then one row that violates the constraint (the
database must refuse it, naming the constraint) and one valid counterpart (it must save).
Rows are written with factories / `objects.create` on purpose: the constraints are the last line
of defence behind the services, so they are tested without them.
"""

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from parcours.fields import blind_index
from parcours.models import (
    AccessRequest,
    AgreementParty,
    Barrier,
    BreakGlass,
    DiagnosticEntry,
    ModalityPeriod,
    Objection,
    Organisation,
    Person,
    RetentionRule,
    RightsRequest,
)

from .factories import (
    AgreementFactory,
    AppointmentFactory,
    CareTeamMemberFactory,
    ConsentFactory,
    EmploymentAreaFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
    ServiceFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WebhookSubscriptionFactory,
    valid_nir,
    valid_siret,
)

Build = Callable[[], models.Model]


@dataclass(frozen=True)
class Case:
    """`bad` writes a row violating `constraint`; `good` writes a row that satisfies it."""

    bad: Build
    good: Build


def _ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


# --- Organisation, Service, Membership ---------------------------------------------------------


def case_organisation_siae_without_kind() -> Case:
    return Case(
        bad=lambda: OrganisationFactory(kind="siae", siae_kind=""),
        good=lambda: OrganisationFactory(kind="siae", siae_kind="EI"),
    )


def case_organisation_kind_for_non_siae() -> Case:
    return Case(
        bad=lambda: OrganisationFactory(kind="mission_locale", siae_kind="ACI"),
        good=lambda: OrganisationFactory(kind="mission_locale", siae_kind=""),
    )


def case_service_unique_name() -> Case:
    service = ServiceFactory(name="Atelier CV")
    return Case(
        bad=lambda: ServiceFactory(organisation=service.organisation, name="Atelier CV"),
        # The same name in another organisation is fine.
        good=lambda: ServiceFactory(name="Atelier CV"),
    )


def case_membership_unique() -> Case:
    membership = MembershipFactory()
    return Case(
        bad=lambda: MembershipFactory(
            user=membership.user, organisation=membership.organisation, role="manager"
        ),
        good=lambda: MembershipFactory(user=membership.user),
    )


# --- Person -------------------------------------------------------------------------------------


def case_person_unique_nir() -> Case:
    PersonFactory(nir=valid_nir(1))
    return Case(
        bad=lambda: PersonFactory(nir=valid_nir(1)),
        good=lambda: PersonFactory(nir=valid_nir(2)),
    )


def case_person_unique_france_travail_id() -> Case:
    PersonFactory(france_travail_id="1234567A")
    return Case(
        bad=lambda: PersonFactory(france_travail_id="1234567A"),
        good=lambda: PersonFactory(france_travail_id=""),
    )


def case_person_birth_date_plausible() -> Case:
    return Case(
        bad=lambda: PersonFactory(birth_date=dt.date(1899, 12, 31)),
        good=lambda: PersonFactory(birth_date=dt.date(1900, 1, 1)),
    )


# --- Pathway, ModalityPeriod, Barrier ----------------------------------------------------------


def case_pathway_one_open_per_person() -> Case:
    pathway = PathwayFactory()
    now = timezone.now()
    return Case(
        bad=lambda: PathwayFactory(person=pathway.person),
        # A closed pathway next to the open one is history, not a duplicate.
        good=lambda: PathwayFactory(
            person=pathway.person,
            status="closed",
            outcome="job",
            opened_at=now - dt.timedelta(days=30),
            closed_at=now,
        ),
    )


def case_pathway_closed_without_outcome() -> Case:
    return Case(
        bad=lambda: PathwayFactory(
            status="closed", opened_at=_ago(5), closed_at=_ago(1), outcome=""
        ),
        good=lambda: PathwayFactory(
            status="closed", opened_at=_ago(5), closed_at=_ago(1), outcome="training"
        ),
    )


def case_pathway_closed_without_date() -> Case:
    return Case(
        bad=lambda: PathwayFactory(status="closed", closed_at=None, outcome="job"),
        good=lambda: PathwayFactory(
            status="closed", opened_at=_ago(5), closed_at=_ago(1), outcome="job"
        ),
    )


def case_pathway_open_with_closing_data() -> Case:
    return Case(
        bad=lambda: PathwayFactory(
            status="open", opened_at=_ago(5), closed_at=_ago(1), outcome="job"
        ),
        good=lambda: PathwayFactory(status="open", closed_at=None, outcome=""),
    )


def case_pathway_closed_after_opened() -> Case:
    return Case(
        bad=lambda: PathwayFactory(
            status="closed", outcome="job", opened_at=_ago(1), closed_at=_ago(2)
        ),
        good=lambda: PathwayFactory(
            status="closed", outcome="job", opened_at=_ago(2), closed_at=_ago(1)
        ),
    )


def case_pathway_anonymised_was_archived() -> Case:
    return Case(
        bad=lambda: PathwayFactory(anonymised_at=_ago(1)),
        good=lambda: PathwayFactory(archived_at=_ago(2), anonymised_at=_ago(1)),
    )


def _rights_request(**fields) -> RightsRequest:
    membership = MembershipFactory()
    values = {
        "person": PersonFactory(),
        "organisation": membership.organisation,
        "kind": "access",
        "received_on": dt.date(2026, 3, 1),
        "due_on": dt.date(2026, 4, 1),
        "recorded_by": membership.user,
        **fields,
    }
    return RightsRequest.objects.create(**values)


def case_rights_request_due_after_receipt() -> Case:
    return Case(
        bad=lambda: _rights_request(due_on=dt.date(2026, 2, 1)),
        good=lambda: _rights_request(due_on=dt.date(2026, 3, 1)),
    )


def case_rights_request_answered_without_date() -> Case:
    return Case(
        bad=lambda: _rights_request(status="granted"),
        good=lambda: _rights_request(status="granted", decided_at=_ago(0)),
    )


def case_rights_request_received_with_decision_date() -> Case:
    return Case(
        bad=lambda: _rights_request(decided_at=_ago(0)),
        good=lambda: _rights_request(),
    )


def case_retention_active_at_least_one_month() -> Case:
    return Case(
        bad=lambda: RetentionRule.objects.create(category="social", active_months=0),
        good=lambda: RetentionRule.objects.create(category="social", active_months=1),
    )


def case_retention_journal_has_no_archive() -> Case:
    return Case(
        bad=lambda: RetentionRule.objects.create(
            category="journal", active_months=12, archived_months=6
        ),
        good=lambda: RetentionRule.objects.create(
            category="journal", active_months=12, archived_months=0
        ),
    )


def case_modality_one_current_period() -> Case:
    pathway = PathwayFactory()
    ModalityPeriod.objects.create(pathway=pathway, modality="suivi", started_at=_ago(10))
    return Case(
        bad=lambda: ModalityPeriod.objects.create(
            pathway=pathway, modality="renforce", started_at=_ago(1)
        ),
        good=lambda: ModalityPeriod.objects.create(
            pathway=pathway, modality="guide", started_at=_ago(20), ended_at=_ago(10)
        ),
    )


def case_modality_period_ends_after_start() -> Case:
    pathway = PathwayFactory()
    return Case(
        bad=lambda: ModalityPeriod.objects.create(
            pathway=pathway, modality="suivi", started_at=_ago(1), ended_at=_ago(2)
        ),
        good=lambda: ModalityPeriod.objects.create(
            pathway=pathway, modality="suivi", started_at=_ago(2), ended_at=_ago(1)
        ),
    )


def case_barrier_unique_kind() -> Case:
    pathway = PathwayFactory()
    Barrier.objects.create(pathway=pathway, kind="housing", identified_at=_ago(3))
    return Case(
        bad=lambda: Barrier.objects.create(pathway=pathway, kind="housing", identified_at=_ago(1)),
        good=lambda: Barrier.objects.create(
            pathway=pathway, kind="mobility", identified_at=_ago(1)
        ),
    )


def case_barrier_resolved_without_date() -> Case:
    pathway = PathwayFactory()
    return Case(
        bad=lambda: Barrier.objects.create(
            pathway=pathway, kind="debt", status="resolved", identified_at=_ago(3)
        ),
        good=lambda: Barrier.objects.create(
            pathway=pathway,
            kind="debt",
            status="resolved",
            identified_at=_ago(3),
            resolved_at=_ago(1),
        ),
    )


def _diagnostic_entry():
    pathway, author = PathwayFactory(), UserFactory()
    return lambda **fields: DiagnosticEntry.objects.create(
        pathway=pathway,
        author=author,
        author_organisation=pathway.owner_organisation,
        text="Hébergée chez un tiers",
        created_at=_ago(1),
        **{"domain": "housing", "level": "", **fields},
    )


def case_diagnostic_entry_unknown_domain() -> Case:
    write = _diagnostic_entry()
    return Case(bad=lambda: write(domain="argent"), good=lambda: write(domain="budget"))


def case_diagnostic_entry_unknown_level() -> Case:
    write = _diagnostic_entry()
    return Case(bad=lambda: write(level="grave"), good=lambda: write(level="blocking"))


def case_barrier_unresolved_with_date() -> Case:
    pathway = PathwayFactory()
    return Case(
        bad=lambda: Barrier.objects.create(
            pathway=pathway,
            kind="health",
            status="in_progress",
            identified_at=_ago(3),
            resolved_at=_ago(1),
        ),
        good=lambda: Barrier.objects.create(
            pathway=pathway, kind="health", status="in_progress", identified_at=_ago(3)
        ),
    )


# --- Referral -----------------------------------------------------------------------------------


def case_referral_sender_is_not_receiver() -> Case:
    pathway = PathwayFactory()
    return Case(
        bad=lambda: ReferralFactory(
            pathway=pathway, receiver_organisation=pathway.owner_organisation
        ),
        good=lambda: ReferralFactory(pathway=pathway),
    )


def case_referral_sent_has_sent_at() -> Case:
    return Case(
        bad=lambda: ReferralFactory(sent=True, sent_at=None),
        good=lambda: ReferralFactory(sent=True),
    )


def case_referral_withdrawn_draft_needs_no_sent_at() -> Case:
    # A draft abandoned by its sender was never sent; an answered referral always was.
    return Case(
        bad=lambda: ReferralFactory(accepted=True, sent_at=None),
        good=lambda: ReferralFactory(status="withdrawn", withdrawn_at=timezone.now()),
    )


def _case_accepted_has_accepted_at(status: str) -> Callable[[], Case]:
    def case() -> Case:
        return Case(
            bad=lambda: ReferralFactory(**{status: True, "accepted_at": None}),
            good=lambda: ReferralFactory(**{status: True}),
        )

    case.__name__ = f"case_referral_{status}_has_accepted_at"
    return case


def case_referral_refused_without_date() -> Case:
    return Case(
        bad=lambda: ReferralFactory(refused=True, refused_at=None),
        good=lambda: ReferralFactory(refused=True),
    )


def case_referral_refused_without_reason() -> Case:
    return Case(
        bad=lambda: ReferralFactory(refused=True, refusal_reason=""),
        good=lambda: ReferralFactory(refused=True, refusal_reason="not_eligible"),
    )


def _case_status_needs_stamp(status: str, field: str) -> Callable[[], Case]:
    def case() -> Case:
        return Case(
            bad=lambda: ReferralFactory(**{status: True, field: None}),
            good=lambda: ReferralFactory(**{status: True}),
        )

    case.__name__ = f"case_referral_{status}_has_{field}"
    return case


def case_referral_closed_without_date() -> Case:
    return Case(
        bad=lambda: ReferralFactory(closed=True, closed_at=None),
        good=lambda: ReferralFactory(closed=True),
    )


def case_referral_closed_without_outcome() -> Case:
    return Case(
        bad=lambda: ReferralFactory(closed=True, outcome=""),
        good=lambda: ReferralFactory(closed=True, outcome="job"),
    )


def case_referral_one_open_per_receiver() -> Case:
    first = ReferralFactory(sent=True)
    return Case(
        bad=lambda: ReferralFactory(
            pathway=first.pathway, receiver_organisation=first.receiver_organisation
        ),
        # Once the first is finished (here refused), a new referral is not a duplicate.
        good=lambda: ReferralFactory(
            pathway=first.pathway,
            receiver_organisation=first.receiver_organisation,
            refused=True,
        ),
    )


def case_referral_one_open_per_receiver_other_receiver() -> Case:
    first = ReferralFactory(accepted=True)
    return Case(
        bad=lambda: ReferralFactory(
            pathway=first.pathway,
            receiver_organisation=first.receiver_organisation,
            no_show=True,
        ),
        good=lambda: ReferralFactory(pathway=first.pathway, accepted=True),
    )


def case_referral_transfer_proposed_without_partner() -> Case:
    return Case(
        bad=lambda: ReferralFactory(transfer_proposed=True, transfer_organisation=None),
        good=lambda: ReferralFactory(transfer_proposed=True),
    )


def case_referral_transfer_proposed_without_reason() -> Case:
    return Case(
        bad=lambda: ReferralFactory(transfer_proposed=True, transfer_reason=""),
        good=lambda: ReferralFactory(transfer_proposed=True, transfer_reason="Plus proche"),
    )


def case_referral_transferred_without_successor() -> Case:
    return Case(
        bad=lambda: ReferralFactory(transferred=True, transferred_to=None),
        good=lambda: ReferralFactory(transferred=True),
    )


def case_referral_transferred_without_date() -> Case:
    return Case(
        bad=lambda: ReferralFactory(transferred=True, transferred_at=None),
        good=lambda: ReferralFactory(transferred=True),
    )


def case_referral_transfer_to_its_receiver() -> Case:
    receiver = OrganisationFactory(siae=True)
    return Case(
        bad=lambda: ReferralFactory(
            transfer_proposed=True,
            receiver_organisation=receiver,
            transfer_organisation=receiver,
        ),
        good=lambda: ReferralFactory(transfer_proposed=True, receiver_organisation=receiver),
    )


def case_referral_transfer_to_its_sender() -> Case:
    pathway = PathwayFactory()
    return Case(
        bad=lambda: ReferralFactory(
            transfer_proposed=True,
            pathway=pathway,
            transfer_organisation=pathway.owner_organisation,
        ),
        good=lambda: ReferralFactory(transfer_proposed=True, pathway=pathway),
    )


def case_referral_transferred_to_itself() -> Case:
    def itself():
        referral = ReferralFactory(transferred=True)
        referral.transferred_to = referral
        referral.save()
        return referral

    return Case(bad=itself, good=lambda: ReferralFactory(transferred=True))


def case_referral_one_open_per_service() -> Case:
    service = ServiceFactory(organisation=OrganisationFactory(siae=True))
    first = ReferralFactory(
        sent=True, receiver_organisation=service.organisation, receiver_service=service
    )
    other_service = ServiceFactory(organisation=service.organisation)
    return Case(
        bad=lambda: ReferralFactory(
            pathway=first.pathway,
            receiver_organisation=service.organisation,
            receiver_service=service,
        ),
        good=lambda: ReferralFactory(
            pathway=first.pathway,
            receiver_organisation=service.organisation,
            receiver_service=other_service,
        ),
    )


# --- Appointment, Agreement ---------------------------------------------------------------------


def case_appointment_outcome_without_date() -> Case:
    referral = ReferralFactory(attended=True)
    return Case(
        bad=lambda: AppointmentFactory(referral=referral, outcome="attended"),
        good=lambda: AppointmentFactory(
            referral=referral, outcome="attended", outcome_recorded_at=timezone.now()
        ),
    )


def case_appointment_pending_with_date() -> Case:
    referral = ReferralFactory(appointment_set=True)
    return Case(
        bad=lambda: AppointmentFactory(
            referral=referral, outcome="pending", outcome_recorded_at=timezone.now()
        ),
        good=lambda: AppointmentFactory(referral=referral, outcome="pending"),
    )


def case_appointment_one_pending_per_referral() -> Case:
    first = AppointmentFactory()
    return Case(
        bad=lambda: AppointmentFactory(referral=first.referral),
        # A cancelled appointment next to the pending one is fine.
        good=lambda: AppointmentFactory(
            referral=first.referral, outcome="cancelled", outcome_recorded_at=timezone.now()
        ),
    )


def case_agreement_ends_after_start() -> Case:
    return Case(
        bad=lambda: AgreementFactory(starts_on=dt.date(2025, 1, 1), ends_on=dt.date(2024, 12, 31)),
        good=lambda: AgreementFactory(starts_on=dt.date(2025, 1, 1), ends_on=dt.date(2025, 1, 1)),
    )


def case_agreement_acknowledge_delay_positive() -> Case:
    return Case(
        bad=lambda: AgreementFactory(acknowledge_within_working_days=0),
        good=lambda: AgreementFactory(acknowledge_within_working_days=1),
    )


def case_agreement_first_appointment_delay_positive() -> Case:
    return Case(
        bad=lambda: AgreementFactory(first_appointment_within_days=0),
        good=lambda: AgreementFactory(first_appointment_within_days=1),
    )


def _party(**fields) -> AgreementParty:
    fields.setdefault("agreement", AgreementFactory())
    fields.setdefault("organisation", OrganisationFactory())
    return AgreementParty.objects.create(**fields)


def case_agreement_party_once() -> Case:
    first = _party()
    return Case(
        bad=lambda: _party(agreement=first.agreement, organisation=first.organisation),
        good=lambda: _party(agreement=first.agreement),
    )


def case_agreement_party_accepted_without_date() -> Case:
    return Case(
        bad=lambda: _party(status="accepted"),
        good=lambda: _party(status="accepted", decided_at=timezone.now()),
    )


def case_agreement_party_pending_with_date() -> Case:
    return Case(
        bad=lambda: _party(status="pending", decided_at=timezone.now()),
        good=lambda: _party(status="pending"),
    )


def case_agreement_party_pending_with_author() -> Case:
    user = UserFactory()
    return Case(
        bad=lambda: _party(status="pending", decided_by=user),
        good=lambda: _party(status="declined", decided_at=timezone.now(), decided_by=user),
    )


def case_agreement_party_reason_without_decline() -> Case:
    return Case(
        bad=lambda: _party(status="accepted", decided_at=timezone.now(), decline_reason="Non"),
        good=lambda: _party(status="declined", decided_at=timezone.now(), decline_reason="Non"),
    )


# --- Consent, Objection, CareTeamMember, BreakGlass, AccessRequest ------------------------------


def case_consent_ends_before_start() -> Case:
    return Case(
        bad=lambda: ConsentFactory(starts_on=dt.date(2025, 3, 2), ends_on=dt.date(2025, 3, 1)),
        # A one-day consent (ends the day it starts) is valid.
        good=lambda: ConsentFactory(starts_on=dt.date(2025, 3, 2), ends_on=dt.date(2025, 3, 2)),
    )


def case_consent_revoked_without_author() -> Case:
    return Case(
        bad=lambda: ConsentFactory(revoked_at=timezone.now(), revoked_by=None),
        good=lambda: ConsentFactory(revoked_at=timezone.now(), revoked_by=UserFactory()),
    )


def case_consent_revoked_by_without_date() -> Case:
    return Case(
        bad=lambda: ConsentFactory(revoked_at=None, revoked_by=UserFactory()),
        good=lambda: ConsentFactory(revoked_at=None, revoked_by=None),
    )


def case_objection_one_active_per_person() -> Case:
    person = PersonFactory()
    recorder = UserFactory()
    Objection.objects.create(person=person, recorded_at=_ago(5), recorded_by=recorder)
    return Case(
        bad=lambda: Objection.objects.create(
            person=person, recorded_at=_ago(1), recorded_by=recorder
        ),
        # A withdrawn objection next to the active one is history, not a duplicate.
        good=lambda: Objection.objects.create(
            person=person, recorded_at=_ago(20), recorded_by=recorder, withdrawn_at=_ago(10)
        ),
    )


def case_care_team_one_active_membership() -> Case:
    first = CareTeamMemberFactory()
    return Case(
        bad=lambda: CareTeamMemberFactory(pathway=first.pathway, organisation=first.organisation),
        # An ended membership of the same organisation is history, not a duplicate.
        good=lambda: CareTeamMemberFactory(
            pathway=first.pathway,
            organisation=first.organisation,
            started_at=_ago(20),
            ended_at=_ago(10),
            end_reason="Fin de l'accompagnement",
        ),
    )


def case_care_team_end_without_reason() -> Case:
    return Case(
        bad=lambda: CareTeamMemberFactory(started_at=_ago(5), ended_at=_ago(1), end_reason=""),
        good=lambda: CareTeamMemberFactory(
            started_at=_ago(5), ended_at=_ago(1), end_reason="Relais pris par un autre organisme"
        ),
    )


def _break_glass(**fields) -> BreakGlass:
    pathway = PathwayFactory()
    values = {
        "pathway": pathway,
        "user": UserFactory(),
        "organisation": pathway.owner_organisation,
        "category": "health",
        "reason": "Situation d'urgence signalée par la personne",
        "starts_at": _ago(1),
        "ends_at": timezone.now() + dt.timedelta(hours=4),
        **fields,
    }
    return BreakGlass.objects.create(**values)


def case_break_glass_ends_after_start() -> Case:
    start = _ago(1)
    return Case(
        # Zero length is refused as well as a negative one.
        bad=lambda: _break_glass(starts_at=start, ends_at=start),
        good=lambda: _break_glass(starts_at=start, ends_at=start + dt.timedelta(seconds=1)),
    )


def case_break_glass_has_reason() -> Case:
    return Case(
        bad=lambda: _break_glass(reason=""),
        good=lambda: _break_glass(reason="Urgence"),
    )


def _access_request(pathway=None, organisation=None, **fields) -> AccessRequest:
    return AccessRequest.objects.create(
        pathway=pathway or PathwayFactory(),
        requesting_organisation=organisation or OrganisationFactory(siae=True),
        requested_by=UserFactory(),
        reason="La personne s'est présentée à notre accueil",
        **fields,
    )


def case_access_request_one_pending() -> Case:
    first = _access_request()
    return Case(
        bad=lambda: _access_request(first.pathway, first.requesting_organisation),
        # A decided request next to the pending one is history, not a duplicate.
        good=lambda: _access_request(
            first.pathway,
            first.requesting_organisation,
            status="refused",
            decided_at=timezone.now(),
            decided_by=UserFactory(),
        ),
    )


def case_access_request_decided_without_author() -> Case:
    return Case(
        bad=lambda: _access_request(status="accepted", decided_at=timezone.now()),
        good=lambda: _access_request(
            status="accepted", decided_at=timezone.now(), decided_by=UserFactory()
        ),
    )


def case_access_request_pending_with_decision_date() -> Case:
    return Case(
        bad=lambda: _access_request(status="pending", decided_at=timezone.now()),
        good=lambda: _access_request(status="pending"),
    )


def _grant(model, holder: dict, pathway, *, valid_from=None):
    from parcours.models.grant import permission_ids

    return model.objects.create(
        **holder,
        permission_id=permission_ids()["view_pathway_identity"],
        content_object=pathway,
        valid_from=valid_from,
        basis="legal:owner",
    )


def case_grant_one_row_per_interval() -> Case:
    """Two rows for the same holder, category and pathway are two intervals — never the same
    one twice, even when both are open-ended (NULLS NOT DISTINCT)."""
    from parcours.models import PathwayGroupObjectPermission

    pathway = PathwayFactory()
    group = {"group": pathway.owner_organisation.group}
    PathwayGroupObjectPermission.objects.filter(content_object=pathway).delete()
    _grant(PathwayGroupObjectPermission, group, pathway)
    return Case(
        bad=lambda: _grant(PathwayGroupObjectPermission, group, pathway),
        good=lambda: _grant(PathwayGroupObjectPermission, group, pathway, valid_from=_ago(-3)),
    )


def case_user_grant_one_row_per_interval() -> Case:
    from parcours.models import PathwayUserObjectPermission

    pathway = PathwayFactory()
    user = {"user": UserFactory()}
    _grant(PathwayUserObjectPermission, user, pathway)
    return Case(
        bad=lambda: _grant(PathwayUserObjectPermission, user, pathway),
        good=lambda: _grant(PathwayUserObjectPermission, user, pathway, valid_from=_ago(-3)),
    )


CONSTRAINT_CASES: list[tuple[str, Callable[[], Case]]] = [
    ("pathway_grant_interval_unique", case_grant_one_row_per_interval),
    ("pathway_ugrant_interval_unique", case_user_grant_one_row_per_interval),
    ("organisation_siae_kind_only_for_siae", case_organisation_siae_without_kind),
    ("organisation_siae_kind_only_for_siae", case_organisation_kind_for_non_siae),
    ("service_unique_name_per_organisation", case_service_unique_name),
    ("membership_unique_user_organisation", case_membership_unique),
    ("person_unique_nir", case_person_unique_nir),
    ("person_unique_france_travail_id", case_person_unique_france_travail_id),
    ("person_birth_date_plausible", case_person_birth_date_plausible),
    ("pathway_one_open_per_person", case_pathway_one_open_per_person),
    ("pathway_closed_has_outcome_and_date", case_pathway_closed_without_outcome),
    ("pathway_closed_has_outcome_and_date", case_pathway_closed_without_date),
    ("pathway_closed_has_outcome_and_date", case_pathway_open_with_closing_data),
    ("pathway_closed_after_opened", case_pathway_closed_after_opened),
    ("pathway_anonymised_was_archived", case_pathway_anonymised_was_archived),
    ("retention_active_at_least_one_month", case_retention_active_at_least_one_month),
    ("retention_journal_has_no_archive", case_retention_journal_has_no_archive),
    ("modality_one_current_period", case_modality_one_current_period),
    ("modality_period_ends_after_start", case_modality_period_ends_after_start),
    ("barrier_unique_kind_per_pathway", case_barrier_unique_kind),
    ("barrier_resolved_has_date", case_barrier_resolved_without_date),
    ("diagnostic_entry_known_domain", case_diagnostic_entry_unknown_domain),
    ("diagnostic_entry_known_level", case_diagnostic_entry_unknown_level),
    ("barrier_resolved_has_date", case_barrier_unresolved_with_date),
    ("referral_sender_is_not_receiver", case_referral_sender_is_not_receiver),
    ("referral_sent_has_sent_at", case_referral_sent_has_sent_at),
    ("referral_sent_has_sent_at", case_referral_withdrawn_draft_needs_no_sent_at),
    *[
        ("referral_accepted_has_accepted_at", _case_accepted_has_accepted_at(status))
        for status in ("accepted", "appointment_set", "attended", "no_show")
    ],
    ("referral_refused_has_date_and_reason", case_referral_refused_without_date),
    ("referral_refused_has_date_and_reason", case_referral_refused_without_reason),
    ("referral_withdrawn_has_withdrawn_at", _case_status_needs_stamp("withdrawn", "withdrawn_at")),
    ("referral_expired_has_expired_at", _case_status_needs_stamp("expired", "expired_at")),
    ("referral_attended_has_attended_at", _case_status_needs_stamp("attended", "attended_at")),
    ("referral_no_show_has_no_show_at", _case_status_needs_stamp("no_show", "no_show_at")),
    ("referral_closed_has_date_and_outcome", case_referral_closed_without_date),
    ("referral_closed_has_date_and_outcome", case_referral_closed_without_outcome),
    ("referral_one_open_per_receiver", case_referral_one_open_per_receiver),
    ("referral_one_open_per_receiver", case_referral_one_open_per_receiver_other_receiver),
    ("referral_one_open_per_service", case_referral_one_open_per_service),
    (
        "referral_transfer_proposed_has_partner_and_reason",
        case_referral_transfer_proposed_without_partner,
    ),
    (
        "referral_transfer_proposed_has_partner_and_reason",
        case_referral_transfer_proposed_without_reason,
    ),
    ("referral_transferred_has_date_and_successor", case_referral_transferred_without_successor),
    ("referral_transferred_has_date_and_successor", case_referral_transferred_without_date),
    ("referral_transfer_to_another_partner", case_referral_transfer_to_its_receiver),
    ("referral_transfer_to_another_partner", case_referral_transfer_to_its_sender),
    ("referral_not_transferred_to_itself", case_referral_transferred_to_itself),
    ("appointment_outcome_has_date", case_appointment_outcome_without_date),
    ("appointment_outcome_has_date", case_appointment_pending_with_date),
    ("appointment_one_pending_per_referral", case_appointment_one_pending_per_referral),
    ("agreement_ends_after_start", case_agreement_ends_after_start),
    ("agreement_delays_positive", case_agreement_acknowledge_delay_positive),
    ("agreement_delays_positive", case_agreement_first_appointment_delay_positive),
    ("agreement_party_once", case_agreement_party_once),
    ("agreement_party_answer_dated", case_agreement_party_accepted_without_date),
    ("agreement_party_answer_dated", case_agreement_party_pending_with_date),
    ("agreement_party_pending_unattributed", case_agreement_party_pending_with_author),
    ("agreement_party_reason_only_when_declined", case_agreement_party_reason_without_decline),
    ("consent_ends_after_start", case_consent_ends_before_start),
    ("consent_revocation_is_attributed", case_consent_revoked_without_author),
    ("consent_revocation_is_attributed", case_consent_revoked_by_without_date),
    ("objection_one_active_per_person", case_objection_one_active_per_person),
    ("care_team_one_active_membership", case_care_team_one_active_membership),
    ("care_team_end_has_reason", case_care_team_end_without_reason),
    ("break_glass_ends_after_start", case_break_glass_ends_after_start),
    ("break_glass_has_reason", case_break_glass_has_reason),
    ("rights_request_due_after_receipt", case_rights_request_due_after_receipt),
    ("rights_request_decided_when_closed", case_rights_request_answered_without_date),
    ("rights_request_decided_when_closed", case_rights_request_received_with_decision_date),
    ("access_request_one_pending", case_access_request_one_pending),
    ("access_request_decision_is_attributed", case_access_request_decided_without_author),
    ("access_request_decision_is_attributed", case_access_request_pending_with_decision_date),
]


# --- The action plan ------------------------------------------------------------------------------


def case_objective_achieved_without_date() -> Case:
    from .factories import ObjectiveFactory

    return Case(
        bad=lambda: ObjectiveFactory(status="achieved"),
        good=lambda: ObjectiveFactory(status="achieved", closed_at=_ago(1)),
    )


def case_objective_open_with_date() -> Case:
    from .factories import ObjectiveFactory

    return Case(bad=lambda: ObjectiveFactory(closed_at=_ago(1)), good=lambda: ObjectiveFactory())


def case_plan_action_done_without_date() -> Case:
    from .factories import PlanActionFactory

    return Case(
        bad=lambda: PlanActionFactory(status="done"),
        good=lambda: PlanActionFactory(done=True),
    )


def case_plan_action_to_do_with_date() -> Case:
    from .factories import PlanActionFactory

    return Case(bad=lambda: PlanActionFactory(done_at=_ago(1)), good=lambda: PlanActionFactory())


CONSTRAINT_CASES += [
    ("objective_closed_has_date", case_objective_achieved_without_date),
    ("objective_closed_has_date", case_objective_open_with_date),
    ("plan_action_done_has_date", case_plan_action_done_without_date),
    ("plan_action_done_has_date", case_plan_action_to_do_with_date),
]


# --- Messages on a referral: one read mark per organisation and referral --------------------


def _read_mark(referral, organisation, last_read: int = 0):
    from parcours.models import ReferralMessageRead

    return ReferralMessageRead.objects.create(
        referral=referral,
        organisation=organisation,
        last_read_message_id=last_read,
        read_at=timezone.now(),
    )


def case_referral_message_read_twice() -> Case:
    referral = ReferralFactory(sent=True)
    _read_mark(referral, referral.receiver_organisation)
    return Case(
        bad=lambda: _read_mark(referral, referral.receiver_organisation),
        good=lambda: _read_mark(referral, referral.sender_organisation),
    )


def case_referral_message_read_negative() -> Case:
    referral = ReferralFactory(sent=True)
    return Case(
        bad=lambda: _read_mark(referral, referral.receiver_organisation, last_read=-1),
        good=lambda: _read_mark(referral, referral.receiver_organisation, last_read=0),
    )


CONSTRAINT_CASES += [
    ("referral_message_read_once_per_organisation", case_referral_message_read_twice),
    ("referral_message_read_positive", case_referral_message_read_negative),
]


# --- The escalation ladder and the reminders (issue 14) -----------------------------------------


def _rung(agreement=None, **fields):
    from parcours.models import EscalationRung

    values = {"order": 1, "after_hours": 24, "audience": "managers", **fields}
    return EscalationRung.objects.create(agreement=agreement or AgreementFactory(), **values)


def case_agreement_reminder_beyond_a_month() -> Case:
    return Case(
        bad=lambda: AgreementFactory(reminder_hours_before=721),
        good=lambda: AgreementFactory(reminder_hours_before=720),
    )


def case_escalation_rung_once_per_order() -> Case:
    first = _rung()
    return Case(
        bad=lambda: _rung(first.agreement, order=1, after_hours=48),
        good=lambda: _rung(first.agreement, order=2, after_hours=48),
    )


def case_escalation_rung_once_per_delay() -> Case:
    first = _rung()
    return Case(
        bad=lambda: _rung(first.agreement, order=2, after_hours=24),
        good=lambda: _rung(first.agreement, order=2, after_hours=25),
    )


def case_escalation_rung_order_from_one_to_five() -> Case:
    return Case(bad=lambda: _rung(order=6), good=lambda: _rung(order=5))


def case_escalation_rung_delay_from_one_hour() -> Case:
    return Case(bad=lambda: _rung(after_hours=0), good=lambda: _rung(after_hours=1))


def case_escalation_rung_delay_within_a_month() -> Case:
    return Case(bad=lambda: _rung(after_hours=721), good=lambda: _rung(after_hours=720))


CONSTRAINT_CASES += [
    ("agreement_reminder_within_a_month", case_agreement_reminder_beyond_a_month),
    ("escalation_rung_once_per_order", case_escalation_rung_once_per_order),
    ("escalation_rung_once_per_delay", case_escalation_rung_once_per_delay),
    ("escalation_rung_bounds", case_escalation_rung_order_from_one_to_five),
    ("escalation_rung_bounds", case_escalation_rung_delay_from_one_hour),
    ("escalation_rung_bounds", case_escalation_rung_delay_within_a_month),
]


# --- the indicators annexed to an agreement (issue 18) -----------------------------------------


def _annexed(agreement=None, **fields):
    from parcours.models import AgreementIndicator

    values = {"code": "show_rate", "target": 70, "period": "quarterly", **fields}
    return AgreementIndicator.objects.create(agreement=agreement or AgreementFactory(), **values)


def case_agreement_indicator_once() -> Case:
    first = _annexed()
    return Case(
        bad=lambda: _annexed(first.agreement),
        good=lambda: _annexed(first.agreement, code="placed"),
    )


def case_agreement_indicator_target_not_negative() -> Case:
    return Case(bad=lambda: _annexed(target=-1), good=lambda: _annexed(target=0))


def case_agreement_indicator_period_known() -> Case:
    return Case(bad=lambda: _annexed(period="weekly"), good=lambda: _annexed(period="yearly"))


CONSTRAINT_CASES += [
    ("agreement_indicator_once", case_agreement_indicator_once),
    ("agreement_indicator_target_not_negative", case_agreement_indicator_target_not_negative),
    ("agreement_indicator_period_known", case_agreement_indicator_period_known),
]


# --- ProConnect's refused sign-ins (issue 15) --------------------------------------------------


def _sign_in_request(**fields):
    from parcours.models.sign_in import SignInRequest

    now = timezone.now()
    values = {
        "reason": "unknown_organisation",
        "siret": "13002526500013",
        "sub": "agent-sub-1",
        "email": "agent@exemple.gouv.fr",
        "uid": "uid-1",
        "first_seen_at": now,
        "last_seen_at": now,
        **fields,
    }
    return SignInRequest.objects.create(**values)


def case_sign_in_request_once_per_agent_siret_reason() -> Case:
    _sign_in_request()
    return Case(
        bad=lambda: _sign_in_request(),
        good=lambda: _sign_in_request(siret="13002526500021"),
    )


def case_sign_in_request_organisation_matches_reason() -> Case:
    organisation = OrganisationFactory()
    user = MembershipFactory(organisation=organisation).user
    return Case(
        # Unknown organisation, yet one is named.
        bad=lambda: _sign_in_request(organisation=organisation),
        good=lambda: _sign_in_request(
            reason="awaiting_activation", organisation=organisation, user=user
        ),
    )


CONSTRAINT_CASES += [
    (
        "sign_in_request_once_per_agent_siret_reason",
        case_sign_in_request_once_per_agent_siret_reason,
    ),
    (
        "sign_in_request_organisation_matches_reason",
        case_sign_in_request_organisation_matches_reason,
    ),
]


# --- partner systems' tokens (issue 15) ----------------------------------------------------------


def _api_token(**fields):
    from .factories import api_token_for

    token, _secret = api_token_for(MembershipFactory())
    for name, value in fields.items():
        setattr(token, name, value)
    token.save()
    return token


def case_api_token_revocation_with_reason() -> Case:
    now = timezone.now()
    return Case(
        bad=lambda: _api_token(revoked_at=now),  # revoked, no reason
        good=lambda: _api_token(revoked_at=now, revocation="administrator"),
    )


def case_api_token_revocation_reason_without_date() -> Case:
    return Case(
        bad=lambda: _api_token(revocation="administrator"),
        good=lambda: _api_token(),
    )


def case_api_token_expires_after_creation() -> Case:
    now = timezone.now()
    return Case(
        bad=lambda: _api_token(created_at=now, expires_at=now),
        good=lambda: _api_token(created_at=now, expires_at=now + dt.timedelta(seconds=1)),
    )


def case_api_token_rate_positive() -> Case:
    return Case(
        bad=lambda: _api_token(requests_per_minute=0),
        good=lambda: _api_token(requests_per_minute=1),
    )


CONSTRAINT_CASES += [
    ("api_token_revocation_with_reason", case_api_token_revocation_with_reason),
    ("api_token_revocation_with_reason", case_api_token_revocation_reason_without_date),
    ("api_token_expires_after_creation", case_api_token_expires_after_creation),
    ("api_token_rate_positive", case_api_token_rate_positive),
]


def case_key_canary_single_row() -> Case:
    from parcours import key_canary
    from parcours.models import KeyCanary

    def canary(pk: int):
        return KeyCanary.objects.create(
            id=pk, sealed=key_canary.PLAINTEXT, search_digest=key_canary.search_digest()
        )

    KeyCanary.objects.all().delete()
    return Case(bad=lambda: canary(2), good=lambda: canary(1))


CONSTRAINT_CASES += [("key_canary_single_row", case_key_canary_single_row)]


def case_journal_chain_seq_unique() -> Case:
    """One rank per row of the chain (with its date: the journal is partitioned by month; the
    partition's copy of the constraint carries the same name)."""
    from parcours.models import AccessEvent

    when = timezone.now()

    def sealed(rank: int):
        return AccessEvent.objects.create(
            operation="read",
            object_type="pathway",
            occurred_at=when,
            chain_seq=rank,
            prev_hash="0" * 64,
            row_hash="1" * 64,
        )

    sealed(1)
    return Case(bad=lambda: sealed(1), good=lambda: sealed(2))


CONSTRAINT_CASES += [("journal_chain_seq_unique", case_journal_chain_seq_unique)]


# --- Statistics (issue 18) ----------------------------------------------------------------------


def _figure(**fields):
    from parcours.models import ReferralMonthlyFigure

    return ReferralMonthlyFigure.objects.create(
        **{"month": dt.date(2026, 3, 1), "refreshed_at": timezone.now(), **fields}
    )


def case_referral_figure_one_per_cell() -> Case:
    """One cell per month, sender, receiver and service — a cell without a service included
    (NULLS NOT DISTINCT: the refresh would otherwise write it twice)."""
    sender, receiver = OrganisationFactory(), OrganisationFactory()
    pair = {
        "sender_organisation": sender,
        "receiver_organisation": receiver,
        "receiver_service": None,
        "employment_area": receiver.employment_area,
    }
    _figure(**pair)
    return Case(
        bad=lambda: _figure(**pair),
        good=lambda: _figure(**{**pair, "month": dt.date(2026, 4, 1)}),
    )


def case_referral_figure_month_first_day() -> Case:
    sender, receiver = OrganisationFactory(), OrganisationFactory()
    pair = {
        "sender_organisation": sender,
        "receiver_organisation": receiver,
        "employment_area": receiver.employment_area,
    }
    return Case(
        bad=lambda: _figure(**pair, month=dt.date(2026, 3, 15)),
        good=lambda: _figure(**pair, month=dt.date(2026, 3, 1)),
    )


CONSTRAINT_CASES += [
    ("referral_figure_one_per_cell", case_referral_figure_one_per_cell),
    ("referral_figure_month_first_day", case_referral_figure_month_first_day),
]


# --- partner systems' webhooks (issue 19) --------------------------------------------------------


def _webhook_subscription(**fields):
    return WebhookSubscriptionFactory(**fields)


def _webhook_delivery(**fields):
    return WebhookDeliveryFactory(**fields)


def case_webhook_previous_secret_with_end() -> Case:
    return Case(
        bad=lambda: _webhook_subscription(previous_secret="whsec_" + "B" * 44),
        good=lambda: _webhook_subscription(
            previous_secret="whsec_" + "B" * 44, previous_secret_until=timezone.now()
        ),
    )


def case_webhook_previous_secret_end_without_secret() -> Case:
    return Case(
        bad=lambda: _webhook_subscription(previous_secret_until=timezone.now()),
        good=lambda: _webhook_subscription(),
    )


def case_webhook_delivery_once_per_event() -> Case:
    subscription = _webhook_subscription()
    _webhook_delivery(subscription=subscription, source_event_id=7)
    return Case(
        bad=lambda: _webhook_delivery(subscription=subscription, source_event_id=7),
        good=lambda: _webhook_delivery(subscription=subscription, source_event_id=8),
    )


def case_webhook_delivery_delivered_with_date() -> Case:
    return Case(
        bad=lambda: _webhook_delivery(status="delivered"),
        good=lambda: _webhook_delivery(status="delivered", delivered_at=timezone.now()),
    )


def case_webhook_delivery_date_only_when_delivered() -> Case:
    return Case(
        bad=lambda: _webhook_delivery(status="pending", delivered_at=timezone.now()),
        good=lambda: _webhook_delivery(status="pending"),
    )


def case_idempotency_key_once_per_caller() -> Case:
    from parcours.models import IdempotencyKey

    def key(scope: str):
        return IdempotencyKey.objects.create(
            scope=scope, key="k-1", fingerprint="0" * 64, status_code=201, response="{}"
        )

    key("org:1:user:1")
    return Case(bad=lambda: key("org:1:user:1"), good=lambda: key("org:1:user:2"))


CONSTRAINT_CASES += [
    ("webhook_previous_secret_with_end", case_webhook_previous_secret_with_end),
    ("webhook_previous_secret_with_end", case_webhook_previous_secret_end_without_secret),
    ("webhook_delivery_once_per_event", case_webhook_delivery_once_per_event),
    ("webhook_delivery_delivered_with_date", case_webhook_delivery_delivered_with_date),
    ("webhook_delivery_delivered_with_date", case_webhook_delivery_date_only_when_delivered),
    ("idempotency_key_once_per_caller", case_idempotency_key_once_per_caller),
]


# --- The case committee (CLCVP) ------------------------------------------------------------------


def _committee():
    from parcours.models import Committee

    organisation = OrganisationFactory()
    return Committee.objects.create(
        employment_area=organisation.employment_area,
        meets_at=timezone.now() + dt.timedelta(days=7),
        place="Maison de l'emploi",
        created_by=UserFactory(),
        created_by_organisation=organisation,
        created_at=timezone.now(),
    )


def _proposal(pathway=None, **fields):
    from parcours.models import CommitteeProposal

    pathway = pathway or PathwayFactory()
    values = dict(
        employment_area=pathway.owner_organisation.employment_area,
        pathway=pathway,
        proposed_by=UserFactory(),
        proposer_organisation=pathway.owner_organisation,
        created_at=timezone.now(),
        reason="Bloqué",
        question="Qui peut aider ?",
        summary="Résumé",
        basis_kind="legal",
        legal_basis="legal:spe",
    )
    values.update(fields)
    return CommitteeProposal.objects.create(**values)


def case_committee_proposal_without_basis() -> Case:
    return Case(bad=lambda: _proposal(legal_basis=""), good=lambda: _proposal())


def case_committee_proposal_consent_without_consent() -> Case:
    pathway = PathwayFactory()
    consent = ConsentFactory(person=pathway.person)
    return Case(
        bad=lambda: _proposal(pathway, basis_kind="consent", legal_basis=""),
        good=lambda: _proposal(pathway, basis_kind="consent", legal_basis="", consent=consent),
    )


def case_committee_proposal_scheduled_without_committee() -> Case:
    committee = _committee()
    return Case(
        bad=lambda: _proposal(status="scheduled", position=1),
        good=lambda: _proposal(status="scheduled", committee=committee, position=1),
    )


def case_committee_proposal_pending_with_position() -> Case:
    return Case(bad=lambda: _proposal(position=3), good=lambda: _proposal())


def case_committee_proposal_decided_without_outcome() -> Case:
    committee = _committee()
    user = UserFactory()
    decided = dict(status="decided", committee=committee, decided_at=_ago(0), decided_by=user)
    return Case(
        bad=lambda: _proposal(position=1, **decided),
        good=lambda: _proposal(position=2, outcome="no_follow_up", **decided),
    )


def case_committee_proposal_one_per_position() -> Case:
    committee = _committee()
    _proposal(status="scheduled", committee=committee, position=1)
    return Case(
        bad=lambda: _proposal(status="scheduled", committee=committee, position=1),
        good=lambda: _proposal(status="scheduled", committee=committee, position=2),
    )


def case_committee_proposal_one_open_per_pathway() -> Case:
    pathway = PathwayFactory()
    _proposal(pathway)
    return Case(
        bad=lambda: _proposal(pathway),
        good=lambda: _proposal(pathway, status="declined", declined_reason="Hors champ"),
    )


def case_committee_follow_up_with_nothing() -> Case:
    from parcours.models import CommitteeFollowUp

    from .factories import PlanActionFactory

    proposal = _proposal()
    return Case(
        bad=lambda: CommitteeFollowUp.objects.create(proposal=proposal),
        good=lambda: CommitteeFollowUp.objects.create(
            proposal=proposal, plan_action=PlanActionFactory(objective__pathway=proposal.pathway)
        ),
    )


CONSTRAINT_CASES += [
    ("committee_proposal_basis_recorded", case_committee_proposal_without_basis),
    ("committee_proposal_basis_recorded", case_committee_proposal_consent_without_consent),
    (
        "committee_proposal_agenda_has_committee",
        case_committee_proposal_scheduled_without_committee,
    ),
    ("committee_proposal_agenda_has_committee", case_committee_proposal_pending_with_position),
    ("committee_proposal_decision_recorded", case_committee_proposal_decided_without_outcome),
    ("committee_proposal_one_per_position", case_committee_proposal_one_per_position),
    ("committee_proposal_one_open_per_pathway", case_committee_proposal_one_open_per_pathway),
    ("committee_follow_up_one_item", case_committee_follow_up_with_nothing),
]


def case_person_rights_end_date_with_flag() -> Case:
    end = dt.date(2027, 2, 1)
    return Case(
        bad=lambda: PersonFactory(rights_ending=False, rights_end_date=end),
        good=lambda: PersonFactory(rights_ending=True, rights_end_date=end),
    )


CONSTRAINT_CASES += [
    ("person_rights_end_date_with_flag", case_person_rights_end_date_with_flag),
]


def _all_constraint_names() -> set[str]:
    from django.apps import apps

    return {
        constraint.name
        for model in apps.get_app_config("parcours").get_models()
        for constraint in model._meta.constraints
        if isinstance(constraint, models.CheckConstraint | models.UniqueConstraint)
    }


# --- The person's space (issue 19): a withdrawal by the person, the one-time codes -------------


def case_consent_withdrawn_by_person_with_a_user() -> Case:
    return Case(
        bad=lambda: ConsentFactory(
            revoked_at=timezone.now(), revoked_by=UserFactory(), revoked_by_person=True
        ),
        good=lambda: ConsentFactory(
            revoked_at=timezone.now(), revoked_by=None, revoked_by_person=True
        ),
    )


def _code(**fields):
    from parcours.models import PersonSignInCode

    now = timezone.now()
    values = dict(
        person=PersonFactory(),
        code_hash="0" * 64,
        salt="s",
        created_at=now,
        expires_at=now + dt.timedelta(minutes=10),
    )
    return PersonSignInCode.objects.create(**(values | fields))


def case_person_code_expires_before_creation() -> Case:
    now = timezone.now()
    return Case(
        bad=lambda: _code(created_at=now, expires_at=now),
        good=lambda: _code(created_at=now, expires_at=now + dt.timedelta(minutes=10)),
    )


def case_person_code_too_many_attempts() -> Case:
    return Case(bad=lambda: _code(attempts=6), good=lambda: _code(attempts=5))


CONSTRAINT_CASES += [
    ("consent_revocation_is_attributed", case_consent_withdrawn_by_person_with_a_user),
    ("person_code_expires_after_creation", case_person_code_expires_before_creation),
    ("person_code_attempts_bounded", case_person_code_too_many_attempts),
]


def _receiver_link(**fields):
    from parcours.models import ReceiverLink

    now = timezone.now()
    values = {
        "referral": fields.pop("referral", None) or ReferralFactory(sent=True),
        "token_hash": uuid.uuid4().hex + uuid.uuid4().hex,
        "created_at": now,
        "expires_at": now + dt.timedelta(days=30),
    }
    values["organisation"] = (
        fields.pop("organisation", None) or values["referral"].receiver_organisation
    )
    return ReceiverLink.objects.create(**(values | fields))


def case_receiver_link_expires_before_creation() -> Case:
    now = timezone.now()
    return Case(
        bad=lambda: _receiver_link(created_at=now, expires_at=now),
        good=lambda: _receiver_link(created_at=now, expires_at=now + dt.timedelta(days=1)),
    )


def case_receiver_link_revoked_without_date() -> Case:
    return Case(
        bad=lambda: _receiver_link(revoked_by=UserFactory()),
        good=lambda: _receiver_link(revoked_by=UserFactory(), revoked_at=timezone.now()),
    )


def case_receiver_link_two_in_force() -> Case:
    referral = ReferralFactory(sent=True)
    _receiver_link(referral=referral)
    return Case(
        bad=lambda: _receiver_link(referral=referral),
        good=lambda: _receiver_link(referral=referral, revoked_at=timezone.now()),
    )


CONSTRAINT_CASES += [
    ("receiver_link_expires_after_creation", case_receiver_link_expires_before_creation),
    ("receiver_link_revoked_has_date", case_receiver_link_revoked_without_date),
    ("receiver_link_one_unrevoked_per_referral", case_receiver_link_two_in_force),
]


def test_every_named_constraint_has_a_case():
    """A constraint added to a model without a case here fails this test."""
    assert _all_constraint_names() == {name for name, _case in CONSTRAINT_CASES}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("constraint", "make_case"),
    CONSTRAINT_CASES,
    ids=[make_case.__name__.removeprefix("case_") for _name, make_case in CONSTRAINT_CASES],
)
def test_constraint_refuses_violation_and_accepts_valid_row(constraint, make_case):
    case = make_case()

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        case.bad()
    assert constraint in str(excinfo.value)

    row = case.good()
    assert row.pk is not None
    assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.django_db
def test_constraint_messages_are_french_and_named():
    """Model validation (forms, admin) reports the constraint's French message."""
    person = PersonFactory(nir=valid_nir(7))
    twin = Person(
        first_name="Autre",
        last_name="Personne",
        birth_date=dt.date(1990, 5, 17),
        name_key="personne|autre",
        nir=person.nir,
    )
    with pytest.raises(ValidationError) as excinfo:
        twin.validate_constraints()
    assert "Une personne avec ce NIR existe déjà." in excinfo.value.messages


# --- Field validators ---------------------------------------------------------------------------


def _organisation(siret: str) -> Organisation:
    return Organisation(
        kind="france_travail",
        name="Agence test",
        siret=siret,
        departement="62",
        employment_area=EmploymentAreaFactory(),
        contact_email="agence@partenaire.test",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "siret",
    [
        valid_siret(42)[:-1] + str((int(valid_siret(42)[-1]) + 1) % 10),  # wrong Luhn key
        valid_siret(42)[:-1],  # 13 digits
        "ABCDEFGHIJKLMN",
    ],
    ids=["wrong-key", "too-short", "letters"],
)
def test_invalid_siret_is_refused(siret):
    with pytest.raises(ValidationError) as excinfo:
        _organisation(siret).full_clean(exclude=["group"])
    assert "siret" in excinfo.value.message_dict
    assert "SIRET invalide" in excinfo.value.message_dict["siret"][0]


@pytest.mark.django_db
def test_valid_siret_is_accepted():
    _organisation(valid_siret(42)).full_clean(exclude=["group"])


def _person(**fields: object) -> Person:
    return Person(first_name="Léa", last_name="Martin", birth_date=dt.date(1990, 5, 17), **fields)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "nir",
    [
        valid_nir(5)[:-2] + f"{(int(valid_nir(5)[-2:]) % 97) + 1:02d}",  # wrong key
        "19005621190",  # too short
        "X90056211900599",  # letters
    ],
    ids=["wrong-key", "too-short", "letters"],
)
def test_invalid_nir_is_refused(nir):
    with pytest.raises(ValidationError) as excinfo:
        _person(nir=nir).full_clean()
    assert list(excinfo.value.message_dict) == ["nir"]
    assert "NIR invalide" in excinfo.value.message_dict["nir"][0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "france_travail_id",
    ["123456A", "1234567", "ABCDEFGH", "1234567ABCDE", "1234567ab"],
    ids=["six-digits", "no-suffix", "letters-first", "suffix-too-long", "lower-case"],
)
def test_invalid_france_travail_id_is_refused(france_travail_id):
    with pytest.raises(ValidationError) as excinfo:
        _person(france_travail_id=france_travail_id).full_clean()
    assert list(excinfo.value.message_dict) == ["france_travail_id"]
    assert (
        "Identifiant France Travail invalide"
        in (excinfo.value.message_dict["france_travail_id"][0])
    )


@pytest.mark.django_db
def test_valid_identifiers_pass_full_clean():
    person = _person(nir=valid_nir(5), france_travail_id="1234567A")
    person.full_clean()  # no ValidationError
    person.save()
    assert Person.objects.get(pk=person.pk).nir == valid_nir(5)
    # Encrypted: searched through the blind index only.
    assert Person.objects.filter(pk=person.pk, nir_index=blind_index("nir", valid_nir(5))).exists()


@pytest.mark.django_db
def test_blank_identifiers_are_not_unique():
    """Many people have no NIR or France Travail id: blanks never collide."""
    PersonFactory(nir="", france_travail_id="")
    PersonFactory(nir="", france_travail_id="")
    assert Person.objects.filter(nir_index="", france_travail_id_index="").count() == 2
