"""The territorial coordinator as the last rung of an escalation ladder (issue 18): the rung
tells the coordinators covering the receiving organisation's employment area, once, without the
person's name (nor the referral's own reference: the pseudonymous one of their overdue list)."""

from html import unescape

import pytest
from django.core import mail

from notifications.models import AlertState, Audience
from notifications.services.relay import outbox_relay
from parcours.errors import InvalidInput
from parcours.models import EscalationAudience, Role
from parcours.selectors.territory import reference_of
from tests.factories import EmploymentAreaFactory, MembershipFactory, UserFactory

from .conftest import paris
from .test_ladder import MINUTE, H, addresses, agreement_between, chain, managers_of, scan_at

pytestmark = pytest.mark.django_db

MANAGERS, COORDINATORS = EscalationAudience.MANAGERS, EscalationAudience.COORDINATORS


def _coordinator_of(area, email: str):
    membership = MembershipFactory(
        organisation__name="Département du Pas-de-Calais",
        role=Role.COORDINATOR,
        user=UserFactory(email=email),
    )
    membership.employment_areas.set([area])
    return membership


def test_the_last_rung_tells_the_coordinators_of_the_receivers_area_once(journey):
    j = journey(paris(2026, 1, 5, 10), with_managers=True)
    area = j.receiver.organisation.employment_area
    _coordinator_of(area, "coord.lens@example.fr")
    _coordinator_of(EmploymentAreaFactory(), "coord.ailleurs@example.fr")  # another area
    agreement_between(j, [(24, MANAGERS), (48, COORDINATORS)])
    raised_at = j.referral.acknowledge_due_at + MINUTE
    scan_at(raised_at)
    assert scan_at(raised_at + 24 * H + MINUTE).escalated == 1
    assert scan_at(raised_at + 48 * H + MINUTE).escalated == 1
    first, to_managers, to_territory = chain(j.referral)
    assert addresses(to_managers) == managers_of(j.sender.organisation, j.receiver.organisation)
    assert (to_territory.level, to_territory.audience) == (3, COORDINATORS)
    assert addresses(to_territory) == {"coord.lens@example.fr"}
    assert set(to_territory.deliveries.values_list("audience", flat=True)) == {Audience.COORDINATOR}
    assert to_territory.level_label == (
        "Escalade, échelon 2 : coordinateurs territoriaux du bassin du destinataire"
    )
    assert (first.state, first.last_rung, first.next_rung_at) == (AlertState.ESCALATED, 2, None)
    # A second beat, a retry: the rung is not raised again.
    assert scan_at(raised_at + 60 * H).escalated == 0

    outbox_relay(now=raised_at + 60 * H)
    outbox_relay(now=raised_at + 61 * H)  # a second relay sends nothing again
    to_coordinator = [m for m in mail.outbox if m.to == ["coord.lens@example.fr"]]
    assert len(to_coordinator) == 1
    message = to_coordinator[0]
    reference = reference_of(j.referral.pk)
    assert message.subject == f"[parcours] Escalade — {reference} : orientation sans réponse"
    html = unescape(message.alternatives[0][0])
    for text in (message.body, html):
        assert "Léa" not in text and "Martin" not in text
        assert j.referral.reference not in text  # not even the referral's own reference
        assert f"/orientations/{j.referral.pk}/" not in text  # no link to the record
        assert "/territoire/orientations-en-retard/" in text
        assert "La personne n'est pas nommée" in text
    assert j.sender.organisation.name in message.body
    assert not any(m.to == ["coord.ailleurs@example.fr"] for m in mail.outbox)


def test_an_area_without_coordinator_falls_back_to_the_administrators(journey):
    j = journey(paris(2026, 1, 5, 10))
    admin = MembershipFactory(
        organisation=j.receiver.organisation, role=Role.ADMIN, user=UserFactory(email="a@ex.fr")
    )
    agreement_between(j, [(24, COORDINATORS)])
    raised_at = j.referral.acknowledge_due_at + MINUTE
    scan_at(raised_at)
    assert scan_at(raised_at + 24 * H + MINUTE).escalated == 1
    _first, to_territory = chain(j.referral)
    assert addresses(to_territory) == {admin.user.email}


def test_the_coordinators_may_only_be_the_last_rung(journey):
    from parcours.services.agreement import _check_ladder

    assert _check_ladder([(48, COORDINATORS), (24, MANAGERS)]) == [
        (24, MANAGERS),
        (48, COORDINATORS),
    ]
    with pytest.raises(InvalidInput) as refused:
        _check_ladder([(24, COORDINATORS), (48, MANAGERS)])
    assert "que le dernier échelon" in str(refused.value)


def test_an_inactive_coordinator_is_not_told(journey):
    j = journey(paris(2026, 1, 5, 10))
    membership = _coordinator_of(j.receiver.organisation.employment_area, "old@example.fr")
    membership.is_active = False
    membership.save()
    agreement_between(j, [(24, COORDINATORS)])
    raised_at = j.referral.acknowledge_due_at + MINUTE
    scan_at(raised_at)
    scan_at(raised_at + 24 * H + MINUTE)
    _first, to_territory = chain(j.referral)
    assert "old@example.fr" not in addresses(to_territory)
