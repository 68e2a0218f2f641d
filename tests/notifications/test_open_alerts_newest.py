"""The open alerts newest first, merged from each party's half (issue 17): the same alerts, in
the same order, as the one ordered query over the scope — for every slice, for the bounded
count the pages read (the badge's, `OPEN_ALERTS.count_up_to`), for an actor with a
break-glass — and each half read in its index's order."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Alert
from notifications.selectors import (
    NEWEST_FIRST,
    OPEN_ALERTS,
    open_alerts_newest,
    open_alerts_visible_to,
)
from parcours.actor import actor_for
from parcours.models import ReferralStatus
from parcours.services.break_glass import break_glass_open
from tests.factories import (
    CareTeamMemberFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    ReferralFactory,
)

pytestmark = pytest.mark.django_db


def _alert(referral, at: dt.datetime, **more) -> Alert:
    return Alert.objects.create(
        referral=referral, kind="unanswered", level=1, due_at=at, created_at=at, **more
    )


@pytest.fixture
def organisation_with_alerts():
    """An organisation's alerts as sender and as receiver, with ties on the creation time;
    resolved ones, another's draft and others' alerts besides."""
    me = MembershipFactory(role="counsellor")
    mine = me.organisation
    now = timezone.now()
    partner = OrganisationFactory()
    for i in range(7):
        sent = ReferralFactory(pathway=PathwayFactory(owner_organisation=mine), sent=True)
        _alert(sent, now - dt.timedelta(hours=i % 4))  # ties: the id decides
        received = ReferralFactory(
            pathway=PathwayFactory(owner_organisation=partner),
            receiver_organisation=mine,
            sent=True,
        )
        _alert(received, now - dt.timedelta(hours=i, minutes=30))
    resolved = ReferralFactory(receiver_organisation=mine, sent=True)
    _alert(resolved, now, state="resolved", resolved_at=now)
    draft = ReferralFactory(receiver_organisation=mine)  # another's draft: not seen
    assert draft.status == ReferralStatus.DRAFT
    _alert(draft, now)
    _alert(ReferralFactory(sent=True), now)  # neither party
    return me


def _orm_newest(actor) -> list[int]:
    return list(open_alerts_visible_to(actor).order_by(*NEWEST_FIRST).values_list("pk", flat=True))


def test_every_slice_and_bound_is_the_one_ordered_query_s(organisation_with_alerts):
    me = organisation_with_alerts
    actor = actor_for(me.user, me.organisation_id)
    expected = _orm_newest(actor)
    assert len(expected) == 14  # 7 sent, 7 received
    for start in range(0, 16):
        for stop in range(start, 17):
            alerts = open_alerts_newest(
                actor, start, stop, lambda rows: rows.select_related("referral")
            )
            assert [a.pk for a in alerts] == expected[start:stop], (start, stop)
    for most in range(1, 17):
        assert OPEN_ALERTS.count_up_to(actor, most) == min(most, 14)


def test_each_half_walks_its_index_in_order_and_stops_at_the_page(organisation_with_alerts):
    me = organisation_with_alerts
    actor = actor_for(me.user, me.organisation_id)
    with CaptureQueriesContext(connection) as queries:
        alerts = open_alerts_newest(
            actor, 0, 5, lambda rows: rows.select_related("referral__receiver_organisation")
        )
    # (the actor's personal grants are read once, before: not an alert read)
    merged, rows = (q["sql"] for q in queries if 'FROM "notifications_alert"' in q["sql"])
    # Each half ordered and cut at the page's end, the merge ordered and cut again.
    # (Django orders a combined query's parts by the position of their columns.)
    assert merged.count("ORDER BY 1 DESC, 2 DESC LIMIT 5") == 3 and "UNION ALL" in merged
    assert '"notifications_alert"."id" IN' in rows and "parcours_organisation" in rows
    assert [a.referral.receiver_organisation for a in alerts]  # joined: no more query


def test_a_break_glass_actor_sees_the_same_alerts_both_ways(organisation_with_alerts):
    """A break-glass opens one pathway to its user: the scope's other shape, the same list."""
    bystander = MembershipFactory(role="counsellor")
    actor = actor_for(bystander.user, bystander.organisation_id)
    referral = ReferralFactory(
        pathway=PathwayFactory(owner_organisation=OrganisationFactory()),
        receiver_organisation=bystander.organisation,
        sent=True,
    )
    _alert(referral, timezone.now())
    CareTeamMemberFactory(pathway=referral.pathway, organisation=bystander.organisation)
    break_glass_open(
        actor=actor, pathway_id=referral.pathway_id, category="health", reason="Urgence signalée"
    )
    expected = _orm_newest(actor)
    assert expected
    assert [a.pk for a in open_alerts_newest(actor, 0, 25)] == expected
    assert OPEN_ALERTS.count_up_to(actor, 100) == len(expected)


def test_the_alerts_page_lists_the_newest_and_says_when_there_are_more(
    organisation_with_alerts, client, monkeypatch
):
    """Allowed: the member's open alerts, newest first; beyond the page's bound, the caption
    says there are more. Denied: another organisation's member sees none of them."""
    me = organisation_with_alerts
    actor = actor_for(me.user, me.organisation_id)
    client.force_login(me.user)
    response = client.get(reverse("web:alerts"))
    assert [a.pk for a in response.context["page"]] == _orm_newest(actor)
    assert "14 alerte(s)" in response.content.decode()
    # Exactly as many as the bound: the whole list, no « plus de ».
    monkeypatch.setattr("web.views.alerts.OPEN_LISTED", 14)
    response = client.get(reverse("web:alerts"))
    assert "14 alerte(s)" in response.content.decode()
    assert "Plus de" not in response.content.decode()
    monkeypatch.setattr("web.views.alerts.OPEN_LISTED", 10)
    response = client.get(reverse("web:alerts"))
    html = response.content.decode()
    assert "Plus de 10 alertes en cours : les 10 plus récentes sont listées" in html
    assert [a.pk for a in response.context["page"]] == _orm_newest(actor)[:10]
    other = MembershipFactory(role="counsellor")
    client.force_login(other.user)
    response = client.get(reverse("web:alerts"))
    assert list(response.context["page"]) == []
    assert "Aucune alerte." in response.content.decode()
