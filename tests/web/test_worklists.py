"""« À traiter »'s counters are the totals of the lists their « voir tout » links open, at 10,
50 and 500 items per list (issue 14: « À répondre : 20 » while 50 waited), and neither the home
page nor any of those lists runs more queries as the items grow."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Alert
from notifications.selectors import BADGE_MOST
from parcours.models import EventKind, PathwayEvent, ReferralStatus, Role
from parcours.selectors import worklists
from parcours.selectors.sent_referrals import NEEDS_ATTENTION
from tests.bulk import (
    clone_alerts,
    clone_appointments,
    clone_pathways,
    clone_plan_actions,
    clone_referrals,
)
from tests.factories import (
    AppointmentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PlanActionFactory,
    ReferralFactory,
)
from web.views.alerts import OPEN_LISTED

pytestmark = pytest.mark.django_db

SIZES = (10, 50, 500)
HOME = 20  # rows each home block shows (web.views.home.LIMIT)
PAGE = 25  # rows a full list shows (web.views.referrals.PAGE_SIZE)


class Lists:
    """France Travail's counsellor `me`, with one template item per list of « À traiter »,
    grown by bulk copies to the wanted size; and, beside them, items that must not be counted
    (a referral `me` sent still waiting, a refusal a colleague received, another
    organisation's referral to the same SIAE)."""

    def __init__(self):
        self.home = OrganisationFactory(name="France Travail Lens")
        self.siae = OrganisationFactory(siae=True, name="Chantier Les Jardins")
        self.me = MembershipFactory(organisation=self.home).user
        colleague = MembershipFactory(organisation=self.home).user
        now = timezone.now()
        received = lambda **state: ReferralFactory(  # noqa: E731
            pathway=PathwayFactory(owner_organisation=self.siae),
            receiver_organisation=self.home,
            **state,
        )
        self.to_answer = received(sent=True)
        self.alert = Alert.objects.create(
            referral=self.to_answer, kind="unanswered", level=1, due_at=now, created_at=now
        )
        self.awaiting = received(appointment_set=True)
        self.appointment = AppointmentFactory(
            referral=self.awaiting, starts_at=now - dt.timedelta(days=2)
        )
        self.pathway = PathwayFactory(owner_organisation=self.home, referent=self.me)
        self.overdue = PlanActionFactory(
            objective__pathway=PathwayFactory(owner_organisation=self.home),
            owner_organisation=self.home,
            overdue=True,
        )
        self.refused = ReferralFactory(
            pathway=PathwayFactory(owner_organisation=self.home),
            sender_user=self.me,
            receiver_organisation=self.siae,
            refused=True,
        )
        PathwayEvent.objects.create(  # the SIAE's answer, as referral_refuse writes it
            pathway=self.refused.pathway,
            kind=EventKind.REFERRAL_MOVED,
            occurred_at=self.refused.refused_at,
            organisation=self.siae,
            referral=self.refused,
            referral_status=ReferralStatus.REFUSED,
        )
        # Not to be counted: still waiting; sent by a colleague; another organisation's.
        ReferralFactory(
            pathway=PathwayFactory(owner_organisation=self.home),
            sender_user=self.me,
            receiver_organisation=self.siae,
            sent=True,
        )
        ReferralFactory(
            pathway=PathwayFactory(owner_organisation=self.home),
            sender_user=colleague,
            receiver_organisation=self.siae,
            refused=True,
        )
        ReferralFactory(
            pathway=PathwayFactory(owner_organisation=OrganisationFactory()),
            receiver_organisation=self.siae,
            refused=True,
        )
        self.size = 1

    def grow_to(self, size: int) -> None:
        more = size - self.size
        clone_alerts(self.alert, clone_referrals(self.to_answer, more))
        clone_appointments(self.appointment, clone_referrals(self.awaiting, more))
        clone_pathways(self.pathway, more)
        clone_plan_actions(self.overdue, more)
        clone_referrals(self.refused, more)
        self.size = size


# url → (the home block counting it, the tag's words on the home page)
FULL_LISTS = {
    reverse("web:inbox") + "?statut=sent": ("to_answer", "À répondre"),
    reverse("web:inbox") + "?statut=issue-a-saisir": ("awaiting_outcome", "Issue à saisir"),
    reverse("web:alerts"): ("alerts", "Alertes ouvertes"),
    reverse("web:sent-referrals") + "?par=moi&a_regarder=oui": (
        "sent",
        "Orientations envoyées à regarder",
    ),
    reverse("web:caseload"): ("caseload", "Mes personnes suivies"),
    reverse("web:overdue-actions"): ("overdue", "Actions en retard"),
}


def _get(client: Client, url: str):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return response, len(queries)


def test_every_counter_is_its_lists_total_at_a_constant_cost():
    lists = Lists()
    client = Client()
    client.force_login(lists.me)
    client.get(reverse("web:home"))  # the session's first request settles it
    costs: dict[str, list[int]] = {}
    for size in SIZES:
        lists.grow_to(size)
        home, queries = _get(client, reverse("web:home"))
        costs.setdefault("home", []).append(queries)
        html = home.content.decode()
        for url, (block, words) in FULL_LISTS.items():
            counted = home.context[block]
            # The counter is the list's total (the alerts' up to a hundred: « plus de 99 »
            # beyond), the rows are the first ones…
            said = str(size)
            if block == "alerts" and size >= BADGE_MOST:
                said = f"plus de {BADGE_MOST - 1}"
                assert (counted.count, counted.more) == (BADGE_MOST - 1, True)
            else:
                assert (counted.count, counted.more) == (size, False), (block, size)
            assert len(counted.rows) == min(size, HOME), (block, size)
            assert f"{words} : {said}<" in html, (words, size)
            assert f'Voir tout ({said})<span class="fr-sr-only">' in html
            # …and the list « voir tout » opens has that total (the open alerts' pages reach
            # the 200 newest), a page at a time.
            page, queries = _get(client, url)
            costs.setdefault(url, []).append(queries)
            listed = page.context["page"]
            listed_most = OPEN_LISTED if block == "alerts" else size
            assert listed.paginator.count == min(size, listed_most), (url, size)
            assert len(listed.object_list) == min(size, PAGE), (url, size)
            if block == "alerts":
                more = "Plus de 200 alertes en cours : les 200 plus récentes sont listées"
                assert (more in page.content.decode()) == (size > OPEN_LISTED)
        # The header's badge counts the same open alerts, up to « 99+ ».
        badge = f"{size} alertes" if size < 100 else "plus de 99 alertes"
        assert f"{badge} non traitées" in html
    for where, counts in costs.items():
        assert len(set(counts)) == 1, f"{where}: {counts} queries at {SIZES} items"


def test_the_counters_count_what_the_selectors_define():
    """The home's « à regarder » counts exactly the states of NEEDS_ATTENTION that `me` sent:
    beside the template refusal, one referral of each other sent state, one counted per state
    of the set."""
    lists = Lists()
    from parcours.actor import actor_for

    actor = actor_for(lists.me, lists.home.pk)
    for status in ("sent", "accepted", "withdrawn", "expired", "no_show", "closed"):
        ReferralFactory(
            pathway=PathwayFactory(owner_organisation=lists.home),
            sender_user=lists.me,
            receiver_organisation=lists.siae,
            **{status: True},
        )
    counted = set(worklists.sent_to_look_at(actor).values_list("status", flat=True))
    assert counted == NEEDS_ATTENTION
    assert worklists.sent_to_look_at(actor).count() == len(NEEDS_ATTENTION) == 4
    html = _client(lists.me).get(reverse("web:home")).content.decode()
    assert "Orientations envoyées à regarder : 4<" in html


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_alert_badge_costs_one_count_and_none_without_a_member(settings):
    lists = Lists()
    client = _client(lists.me)
    client.get(reverse("web:home"))
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("web:preferences")).content.decode()
    alert_reads = [q["sql"] for q in queries if '"notifications_alert"' in q["sql"]]
    # Counted up to a hundred: the first hundred ids, unordered, never a COUNT of them all.
    assert len(alert_reads) == 1
    assert "LIMIT 100" in alert_reads[0] and "ORDER BY" not in alert_reads[0]
    assert "1 alerte non traitée" in html
    assert 'aria-hidden="true">1</span>' in html
    # Anonymous: the login page, no alert counted.
    with CaptureQueriesContext(connection) as queries:
        Client().get(reverse("web:login"))
    assert not any('"notifications_alert"' in q["sql"] for q in queries)
    # A resolved alert is no longer counted, and a zero shows no badge.
    lists.alert.state, lists.alert.resolved_at = "resolved", timezone.now()
    lists.alert.save()
    html = client.get(reverse("web:preferences")).content.decode()
    assert "non traitée" not in html


def test_the_home_counts_its_alerts_once_for_the_block_and_the_badge():
    lists = Lists()
    client = _client(lists.me)
    client.get(reverse("web:home"))
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("web:home")).content.decode()
    alert_reads = [q["sql"] for q in queries if 'FROM "notifications_alert"' in q["sql"]]
    # Never a COUNT of them all: the first hundred ids once (the block and the badge), the
    # block's rows (each party's newest, merged), then those rows with their referrals.
    assert not [sql for sql in alert_reads if re.search(r"COUNT\(\*\)", sql)]
    assert len([sql for sql in alert_reads if "LIMIT 100" in sql]) == 1
    assert len([sql for sql in alert_reads if "UNION ALL" in sql]) == 1
    assert len(alert_reads) == 3
    assert "Alertes ouvertes : 1<" in html and "1 alerte non traitée" in html


def test_the_badge_stops_counting_at_a_hundred():
    """« 99+ » beyond: the header never checks the scope of thousands of alerts on every page,
    nor the home's block (« plus de 99 »)."""
    lists = Lists()
    client = _client(lists.me)
    now = timezone.now()
    referrals = [  # with the fixture's own alert: 100 open
        ReferralFactory(
            pathway=PathwayFactory(owner_organisation=lists.siae),
            receiver_organisation=lists.home,
            sent=True,
        )
        for _ in range(99)
    ]
    for referral in referrals:
        Alert.objects.create(
            referral=referral, kind="unanswered", level=1, due_at=now, created_at=now
        )
    html = client.get(reverse("web:preferences")).content.decode()
    assert 'aria-hidden="true">99+</span>' in html
    assert "plus de 99 alertes non traitées" in html
    html = client.get(reverse("web:home")).content.decode()
    assert "Alertes ouvertes : plus de 99<" in html and 'aria-hidden="true">99+</span>' in html
    Alert.objects.filter(referral=referrals[0]).update(state="resolved", resolved_at=now)
    html = client.get(reverse("web:preferences")).content.decode()
    assert 'aria-hidden="true">99</span>' in html and "99 alertes non traitées" in html


def test_the_remembered_count_is_forgotten_when_an_alert_resolves():
    """Within one request the count is read once; a move that resolves alerts drops it, so a
    page rendered after the move counts afresh."""
    from notifications.selectors import open_alerts_badge
    from notifications.services.alerts import alerts_resolve_for_referral
    from parcours.actor import actor_for
    from parcours.request_memo import request_memo

    lists = Lists()
    actor = actor_for(lists.me, lists.home.pk)
    with request_memo():
        assert open_alerts_badge(actor) == 1
        lists.to_answer.status = ReferralStatus.WITHDRAWN
        lists.to_answer.withdrawn_at = timezone.now()
        lists.to_answer.save()
        with CaptureQueriesContext(connection) as queries:
            assert open_alerts_badge(actor) == 1  # remembered: not read again
        assert not queries.captured_queries
        assert alerts_resolve_for_referral(referral=lists.to_answer, now=timezone.now()) == 1
        assert open_alerts_badge(actor) == 0


def test_a_manager_sees_the_organisations_counters_without_names():
    """A manager steers activity (pathway category): the same totals, no person named."""
    lists = Lists()
    manager = MembershipFactory(organisation=lists.home, role=Role.MANAGER).user
    response = _client(manager).get(reverse("web:home"))
    assert response.context["to_answer"].count == 1
    assert response.context["alerts"].count == 1
    assert response.context["sent"].count == 0  # sent nothing themselves
    html = response.content.decode()
    assert lists.to_answer.pathway.person.last_name not in html
    assert "Identité non partagée avec votre organisation" in html
