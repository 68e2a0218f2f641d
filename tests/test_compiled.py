"""A query compiled once (parcours/compiled.py) gives what the ORM gives, in one query."""

import datetime as dt
import json
import re

import pytest
import time_machine
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from parcours import access, gate
from parcours.actor import actor_for
from parcours.api import views
from parcours.api.views import _pathway_detail_scope, _pathway_list_scope, _person_scope
from parcours.compiled import CompiledQuery
from parcours.models import (
    AccessEvent,
    AccessOperation,
    Membership,
    Organisation,
    Pathway,
    Person,
)
from parcours.request_memo import request_memo
from parcours.rules import Action
from parcours.services.break_glass import break_glass_open

from .factories import (
    CareTeamMemberFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db


# New on every answer: the forms' CSRF tokens, the scripts' nonce; the savepoints' and the
# server-side cursors' names (numbered by the connection).
_FRESH = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"|nonce="[^"]+"')
_NUMBERED = re.compile(r'"(s\d+_x|_django_curs_\d+_sync_)\d+"')


def _page_runs(client, urls: list[str], *, at: dt.datetime, request_id: str) -> list[tuple]:
    """Each page's answer at the instant `at`: its status, its HTML without what is new on every
    answer, and its statements with the connection's numbered names made plain."""
    runs = []
    for url in urls:
        with (
            time_machine.travel(at, tick=False),
            CaptureQueriesContext(connection) as captured,
        ):
            response = client.get(url, headers={"X-Request-ID": request_id})
        body = _FRESH.sub(b"", response.content)
        sql = [_NUMBERED.sub(r'"\1"', q["sql"]) for q in captured.captured_queries]
        runs.append((response.status_code, body, sql))
    return runs


def _by_siret(siret: str):
    return (
        Organisation.objects.select_related("employment_area", "group")
        .annotate(
            first_role=Subquery(
                Membership.objects.filter(organisation_id=OuterRef("pk"), is_active=True)
                .order_by("pk")
                .values("role")[:1]
            )
        )
        .filter(siret=siret)
        .order_by("pk")[:1]
    )


BY_SIRET = CompiledQuery(Organisation, _by_siret, "siret")


def test_a_compiled_query_answers_as_the_orm(django_assert_num_queries):
    membership = MembershipFactory(role="social_worker")
    other = OrganisationFactory()
    organisation = membership.organisation
    for wanted in (organisation, other, organisation):  # compiled once, run with each value
        orm = _by_siret(wanted.siret).get()
        with django_assert_num_queries(1):
            found = BY_SIRET.first(siret=wanted.siret)
            # The related rows came with it, as select_related's.
            assert found.employment_area.name == orm.employment_area.name
            assert found.group.name == orm.group.name
        assert found.pk == wanted.pk
        for field in Organisation._meta.concrete_fields:
            assert getattr(found, field.attname) == getattr(orm, field.attname), field.name
        assert found.first_role == orm.first_role
        assert found._state.adding is False and found._state.db == "default"
    assert BY_SIRET.first(siret="00000000000000") is None


def test_a_value_the_sql_does_not_hold_once_is_refused():
    twice = CompiledQuery(
        Organisation,
        lambda siret: (
            Organisation.objects.filter(siret=siret) | Organisation.objects.filter(name=siret)
        ),
        "siret",
    )
    with pytest.raises(ValueError, match="expected once"):
        twice.first(siret="x")


# --- A scope's record by id, compiled once per role (access.ScopedRecord) ----------------------

HIDDEN = "health"  # not opened to a care-team member by its relation alone


def _both(record, actor, shape, pk):
    """The compiled answer and the ORM's, with the SQL each ran (at one frozen instant, in a
    request: the personal grants read once, before; compiled on the first call, before)."""
    with time_machine.travel(timezone.now(), tick=False), request_memo():
        record.find(actor, pk)
        with CaptureQueriesContext(connection) as compiled_sql:
            found = record.find(actor, pk)
        with CaptureQueriesContext(connection) as orm_sql:
            try:
                orm = shape(actor).get(pk=pk)
            except ObjectDoesNotExist:
                orm = None
    return found, orm, compiled_sql.captured_queries, orm_sql.captured_queries


def test_a_scoped_record_runs_the_orm_s_sql_and_gives_its_instances():
    membership = MembershipFactory(role="counsellor")
    actor = actor_for(membership.user, membership.organisation_id)
    mine = PathwayFactory(owner_organisation=membership.organisation)
    other = PathwayFactory()
    record = access.ScopedRecord(Pathway, _pathway_detail_scope)
    for pk in (mine.pk, other.pk, mine.pk, 0):  # compiled on the first call, then reused
        found, orm, compiled_sql, orm_sql = _both(record, actor, _pathway_detail_scope, pk)
        # The same statements, word for word: the scope, then the two prefetches.
        assert [q["sql"] for q in compiled_sql] == [q["sql"] for q in orm_sql]
        if orm is None:
            assert found is None and len(compiled_sql) == 1
            continue
        assert found.pk == orm.pk == mine.pk and len(compiled_sql) == 3
        for field in Pathway._meta.concrete_fields:
            if field.attname in orm.__dict__:  # deferred ones stay deferred in both
                assert getattr(found, field.attname) == getattr(orm, field.attname), field.name
        assert found.get_deferred_fields() == orm.get_deferred_fields()
        assert found.person.get_deferred_fields() == orm.person.get_deferred_fields()
        assert found.person.last_name == orm.person.last_name
        with CaptureQueriesContext(connection) as later:  # select_related and prefetches came
            assert list(found.modality_periods.all()) == list(orm.modality_periods.all())
            assert list(found.barriers.all()) == list(orm.barriers.all())
            assert found.owner_organisation == orm.owner_organisation
        assert later.captured_queries == []


def _prefetched_both_ways(monkeypatch, model, build, ids: dict) -> tuple[list, list, int]:
    """A compiled query of `build` (compiled on a first call) and the ORM's queryset: their
    instances, after checking that the compiled one ran its prefetches without Django's
    `prefetch_related_objects` and sent the ORM's statements word for word; and how many."""
    import parcours.compiled as compiled_module

    query = CompiledQuery(model, build, *ids, types=dict.fromkeys(ids, int))
    query.all(**ids)  # compiled on the first call

    def no_orm_prefetch(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the ORM's prefetch")

    with monkeypatch.context() as patched:
        patched.setattr(compiled_module, "prefetch_related_objects", no_orm_prefetch)
        with CaptureQueriesContext(connection) as compiled_sql:
            found = query.all(**ids)
    with CaptureQueriesContext(connection) as orm_sql:
        orm = list(build(**ids))
    assert [q["sql"] for q in compiled_sql] == [q["sql"] for q in orm_sql]
    return found, orm, len(compiled_sql)


def test_reverse_foreign_keys_prefetched_compiled_as_the_orm_prefetches_them(monkeypatch):
    """A compiled query's reverse foreign-key prefetches (a pathway's modality periods and
    barriers) run through `CompiledPrefetch`, never Django's `prefetch_related_objects`: the
    ORM's statements word for word, each pathway's rows in the ORM's order (none for one without
    any), cached where the ORM caches them, each row knowing its pathway."""
    from parcours.models import Barrier, ModalityPeriod

    now = timezone.now()
    pathways = [PathwayFactory() for _ in range(3)]
    for n, pathway in enumerate(pathways[:2]):
        for days in (80, 40 + n):  # ended periods (one current period at most per pathway)
            ModalityPeriod.objects.create(
                pathway=pathway,
                modality="renforce",
                started_at=now - dt.timedelta(days=days),
                ended_at=now - dt.timedelta(days=days - 20),
            )
        for kind in ("mobility", "housing"):
            Barrier.objects.create(pathway=pathway, kind=kind, identified_at=now)
    ids = {f"pathway{n}": p.pk for n, p in enumerate(pathways)}

    def build(**values):
        return (
            Pathway.objects.filter(pk__in=[values[f"pathway{n}"] for n in range(3)])
            .order_by("pk")
            .prefetch_related("modality_periods", "barriers")
        )

    found, orm, sent = _prefetched_both_ways(monkeypatch, Pathway, build, ids)
    assert sent == 3
    with CaptureQueriesContext(connection) as later:
        for one, theirs in zip(found, orm, strict=True):
            assert list(one.modality_periods.all()) == list(theirs.modality_periods.all())
            assert list(one.barriers.all()) == list(theirs.barriers.all())
            assert all(period.pathway is one for period in one.modality_periods.all())
        assert [len(one.barriers.all()) for one in found] == [2, 2, 0]
    assert later.captured_queries == []


def test_a_many_to_many_prefetched_compiled_as_the_orm_prefetches_it(monkeypatch):
    """A compiled query's many-to-many prefetch (a consent's organisations, on the person page)
    runs through `CompiledPrefetch`: the ORM's statement word for word (the related rows joined
    to the through table, the owner's key as an extra column), each consent's organisations in
    the ORM's order (none for one without), cached where the ORM caches them; nothing later."""
    from parcours.models import Consent

    from .factories import ConsentFactory

    pathway = PathwayFactory()
    shared, other = OrganisationFactory(), OrganisationFactory()
    consents = [
        ConsentFactory(person=pathway.person, organisations=[shared, other]),
        ConsentFactory(person=pathway.person, organisations=[shared]),
        ConsentFactory(person=pathway.person),
    ]
    ids = {f"consent{n}": c.pk for n, c in enumerate(consents)}

    def build(**values):
        return (
            Consent.objects.filter(pk__in=[values[f"consent{n}"] for n in range(3)])
            .order_by("pk")
            .prefetch_related("organisations")
        )

    found, orm, sent = _prefetched_both_ways(monkeypatch, Consent, build, ids)
    assert sent == 2
    with CaptureQueriesContext(connection) as later:
        for one, theirs in zip(found, orm, strict=True):
            assert list(one.organisations.all()) == list(theirs.organisations.all())
        assert [len(one.organisations.all()) for one in found] == [2, 1, 0]
        assert {o.pk for o in found[0].organisations.all()} == {shared.pk, other.pk}
    assert later.captured_queries == []


def test_a_prefetch_with_its_queryset_and_attribute_compiled_as_the_orm_s(monkeypatch):
    """`Prefetch("pathways", <only id, person and state>, to_attr="all_pathways")` — the API's
    persons — runs through `CompiledPrefetch`: the ORM's statement word for word, each person's
    pathways a list in the attribute in the ORM's order (an empty one for a person without),
    deferred as the ORM defers them, each knowing its person; nothing read later."""
    from django.db.models import Prefetch

    now = timezone.now()
    persons = [PersonFactory() for _ in range(3)]
    PathwayFactory(person=persons[0], status="closed", outcome="job", opened_at=now, closed_at=now)
    PathwayFactory(person=persons[0])
    PathwayFactory(person=persons[1])
    ids = {f"person{n}": p.pk for n, p in enumerate(persons)}

    def build(**values):
        return (
            Person.objects.filter(pk__in=[values[f"person{n}"] for n in range(3)])
            .order_by("pk")
            .prefetch_related(
                Prefetch(
                    "pathways",
                    queryset=Pathway.objects.only("pk", "person_id", "status"),
                    to_attr="all_pathways",
                )
            )
        )

    found, orm, sent = _prefetched_both_ways(monkeypatch, Person, build, ids)
    assert sent == 2
    with CaptureQueriesContext(connection) as later:
        for one, theirs in zip(found, orm, strict=True):
            mine = [(p.pk, p.status) for p in one.all_pathways]
            assert mine == [(p.pk, p.status) for p in theirs.all_pathways]
            assert [p.get_deferred_fields() for p in one.all_pathways] == [
                p.get_deferred_fields() for p in theirs.all_pathways
            ]
            assert all(p.person is one for p in one.all_pathways)
        assert [len(one.all_pathways) for one in found] == [2, 1, 0]
    assert later.captured_queries == []


def test_persons_by_id_compiled_with_their_pathways():
    membership = MembershipFactory(role="counsellor")
    actor = actor_for(membership.user, membership.organisation_id)
    pathway = PathwayFactory(owner_organisation=membership.organisation)
    record = access.ScopedRecord(Person, _person_scope)
    found, orm, compiled_sql, orm_sql = _both(record, actor, _person_scope, pathway.person_id)
    assert [q["sql"] for q in compiled_sql] == [q["sql"] for q in orm_sql]
    assert found.pk == orm.pk and [p.pk for p in found.all_pathways] == [pathway.pk]
    assert found.nir == orm.nir and found.last_name == orm.last_name  # decrypted alike


def test_personal_grants_go_the_orm_s_way_through_the_gate():
    """A break-glass adds its pathways to the scope's SQL: the compiled shape does not hold
    them, so `locate_compiled` asks the ORM — and still refuses what is out of scope."""
    pathway = PathwayFactory()
    member = CareTeamMemberFactory(pathway=pathway)
    actor = actor_for(MembershipFactory(organisation=member.organisation).user)
    record = access.ScopedRecord(
        Pathway, lambda actor, now=None: access.pathways_visible_to(actor, HIDDEN, now=now)
    )
    assert record.find(actor, pathway.pk) is None
    with pytest.raises(Pathway.DoesNotExist):
        gate.locate_compiled(
            actor,
            record,
            lambda: access.pathways_visible_to(actor, HIDDEN),
            pathway.pk,
            action=Action.PATHWAY_READ,
        )
    assert AccessEvent.objects.filter(
        operation=AccessOperation.DENIED, object_id=pathway.pk
    ).exists()
    break_glass_open(
        actor=actor,
        pathway_id=pathway.pk,
        category=HIDDEN,
        reason="Préparer l'entretien de la semaine prochaine",
    )
    with pytest.raises(access.NotCompiled):
        record.find(actor, pathway.pk)
    located = gate.locate_compiled(
        actor,
        record,
        lambda: access.pathways_visible_to(actor, HIDDEN),
        pathway.pk,
        action=Action.PATHWAY_READ,
    )
    assert located.pk == pathway.pk


def test_integers_and_datetimes_as_values():
    organisation = OrganisationFactory()
    later = CompiledQuery(
        Organisation,
        lambda pk, since: Organisation.objects.filter(pk=pk, created_at__lte=since),
        "pk",
        "since",
        types={"pk": int, "since": dt.datetime},
    )
    assert later.first(pk=organisation.pk, since=timezone.now()).pk == organisation.pk
    assert later.first(pk=organisation.pk, since=timezone.now() - dt.timedelta(days=1)) is None
    with pytest.raises(TypeError, match="str, int or datetime"):
        CompiledQuery(
            Organisation, lambda pk: Organisation.objects.all(), "pk", types={"pk": float}
        ).first(pk=1.0)


@pytest.mark.django_db
def test_a_query_that_can_match_nothing_finds_nothing():
    """A scope that is `.none()` for a role (a manager reads no identity: no person) raises
    EmptyResultSet when compiled; the compiled query answers None, as the ORM would (found by
    the permission matrix: a manager's person detail was a 500)."""
    nothing = CompiledQuery(
        Person, lambda pk: Person.objects.none().filter(pk=pk), "pk", types={"pk": int}
    )
    assert nothing.first(pk=1) is None


# --- A list's page (access.ScopedPage, issue 17) ------------------------------------------------


def _pages(client, url: str, headers: dict) -> list[tuple[str, bytes, list[str]]]:
    """The list from `url` to its end by the next links, then back to its start by the
    previous ones: each URL with the answer's bytes and the SQL it ran (values included)."""
    seen = []

    def get(link: str) -> dict:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(link, headers=headers)
        assert response.status_code == 200, response.content
        seen.append((link, response.content, [q["sql"] for q in captured.captured_queries]))
        return response.json()

    answer = get(url)
    while answer["next"]:
        answer = get(answer["next"])
    while answer["previous"]:
        answer = get(answer["previous"])
    return seen


def _pathways_in_runs(organisation, start: dt.datetime) -> str:
    for n in range(9):
        # Three pathways share each moment: pages of 2 cut inside the runs.
        with time_machine.travel(start + dt.timedelta(minutes=n // 3), tick=False):
            PathwayFactory(owner_organisation=organisation)
    PathwayFactory()  # another's: out of the scope
    return "updated_at"


def _persons_in_runs(organisation, start: dt.datetime) -> str:
    for n in range(9):
        # Three people share each name: pages of 2 cut inside the runs.
        person = PersonFactory(last_name=f"Martin-{n // 3}", first_name="Léa")
        PathwayFactory(owner_organisation=organisation, person=person)
    PathwayFactory()  # another's: out of the scope
    return "last_name"


def _compiled_then_orm(monkeypatch, client, urls, headers, *, at):
    """Every URL's pages read twice at the instant `at`: through the compiled page, then with
    it switched off (the ORM's path). Returns both runs and the compiled page's calls, each as
    its positional arguments after the actor (ordering, lookup, position, low, high) and its
    narrowing filters."""
    calls: list[tuple[tuple, tuple]] = []
    real_page = access.ScopedPage.page

    def recorded(self, actor, *args, narrowed=()):
        calls.append((args, narrowed))
        return real_page(self, actor, *args, narrowed=narrowed)

    monkeypatch.setattr(access.ScopedPage, "page", recorded)
    runs = {}
    for switched_off in (False, True):
        if switched_off:
            monkeypatch.setattr(views.RowsWrittenDirectly, "_page_compiled", lambda self: None)
        with time_machine.travel(at, tick=False):
            runs[switched_off] = [_pages(client, url, headers) for url in urls]
    return runs[False], runs[True], calls


@pytest.mark.parametrize(
    ("path", "make", "filtered"),
    [
        ("pathways", _pathways_in_runs, "status=open"),
        ("persons", _persons_in_runs, "last_name=mar"),
    ],
)
def test_a_list_page_runs_the_orm_s_sql_and_answers_its_bytes(
    client_for, monkeypatch, path, make, filtered
):
    """A list through the compiled page and through the ORM (the compiled path switched off):
    on every page, forward and back, pages cut inside runs of equal positions (the cursor's
    offset), the same statements word for word, the same bytes — and a filter, an ordering
    chosen or a break-glass still give the ORM's answer."""
    membership = MembershipFactory(role="counsellor")
    actor = actor_for(membership.user, membership.organisation_id)
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    position = make(membership.organisation, start)
    client = client_for(actor)
    headers = {"X-Request-ID": "list-compiled"}
    urls = [
        f"/api/v1/{path}/",
        f"/api/v1/{path}/?page_size=2",
        f"/api/v1/{path}/?page_size=4",
        f"/api/v1/{path}/?{filtered}&page_size=2",  # a filter: the ORM's path in both
        f"/api/v1/{path}/?ordering=-updated_at&page_size=2",  # an ordering asked: the same
    ]
    compiled_runs, runs, compiled_pages = _compiled_then_orm(
        monkeypatch, client, urls, headers, at=start + dt.timedelta(days=1)
    )
    # Pages of 50, 2 (5 forward, 4 back), 4 (3 and 2), 2 again filtered, then ordered.
    assert [len(run) for run in runs] == [1, 9, 5, 9, 9]
    for compiled, orm in zip(compiled_runs, runs, strict=True):
        assert compiled == orm
    # Every page without a filter came through the compiled scope, and only those; forward and
    # back, from the first page and past it, with an offset inside a run of equal positions.
    assert len(compiled_pages) == 1 + 9 + 5
    assert {(lookup, low > 0) for (_o, lookup, _p, low, _h), _n in compiled_pages} == {
        (None, False),
        (None, True),  # back to the start, the cursor's offset without a position
        (f"{position}__lt" if path == "pathways" else f"{position}__gt", False),
        (f"{position}__lt" if path == "pathways" else f"{position}__gt", True),
        (f"{position}__gt" if path == "pathways" else f"{position}__lt", False),
        (f"{position}__gt" if path == "pathways" else f"{position}__lt", True),
    }


def test_a_list_page_compiles_only_the_shape_it_holds():
    membership = MembershipFactory(role="counsellor")
    actor = actor_for(membership.user, membership.organisation_id)
    pathway = PathwayFactory()
    CareTeamMemberFactory(pathway=pathway, organisation=membership.organisation)
    page = access.ScopedPage(Pathway, _pathway_list_scope, dt.datetime)
    assert page.compiles(actor)
    found = page.page(actor, ("-updated_at", "-id"), None, None, 0, 51)
    assert [p.pk for p in found] == [pathway.pk]
    break_glass_open(
        actor=actor,
        pathway_id=pathway.pk,
        category=HIDDEN,
        reason="Préparer l'entretien de la semaine prochaine",
    )
    with request_memo():
        assert not page.compiles(actor)
        with pytest.raises(access.NotCompiled):
            page.page(actor, ("-updated_at", "-id"), None, None, 0, 51)


def test_all_gives_the_orm_s_instances_in_its_order():
    organisations = [OrganisationFactory() for _ in range(3)]
    since = CompiledQuery(
        Organisation,
        lambda since: (
            Organisation.objects.filter(created_at__lte=since)
            .select_related("group")
            .order_by("-pk")
        ),
        "since",
        types={"since": dt.datetime},
    )
    now = timezone.now()
    orm = list(Organisation.objects.filter(created_at__lte=now).order_by("-pk"))
    found = since.all(since=now)
    assert [o.pk for o in found] == [o.pk for o in orm]
    assert {o.pk for o in organisations} <= {o.pk for o in found}
    assert [o.group.name for o in found] == [o.group.name for o in orm]
    assert since.all(since=now - dt.timedelta(days=3650)) == []


def test_a_count_compiled_is_the_orm_s_count_statement():
    organisation = OrganisationFactory()
    OrganisationFactory()
    named = CompiledQuery(
        Organisation, lambda siret: Organisation.objects.filter(siret=siret), "siret"
    )
    assert named.count(siret="00000000000000") == 0  # compiled here, sent with the value
    with CaptureQueriesContext(connection) as compiled_sql:
        assert named.count(siret=organisation.siret) == 1
    with CaptureQueriesContext(connection) as orm_sql:
        assert Organisation.objects.filter(siret=organisation.siret).count() == 1
    assert [q["sql"] for q in compiled_sql] == [q["sql"] for q in orm_sql]
    nothing = CompiledQuery(
        Person, lambda pk: Person.objects.none().filter(pk=pk), "pk", types={"pk": int}
    )
    with CaptureQueriesContext(connection) as none_sql:
        assert nothing.count(pk=1) == 0
    assert none_sql.captured_queries == []  # as the ORM: nothing sent


def test_the_person_page_s_person_compiled_as_the_orm_s():
    from web.views.persons import _person_scope

    membership = MembershipFactory(role="counsellor")
    actor = actor_for(membership.user, membership.organisation_id)
    mine = PathwayFactory(owner_organisation=membership.organisation)
    other = PathwayFactory()
    record = access.ScopedRecord(Person, _person_scope)
    for pk in (mine.person_id, other.person_id, mine.person_id, 0):
        found, orm, compiled_sql, orm_sql = _both(record, actor, _person_scope, pk)
        assert [q["sql"] for q in compiled_sql] == [q["sql"] for q in orm_sql]
        if orm is None:
            assert found is None
            continue
        assert found.pk == orm.pk == mine.person_id
        assert found.nir == orm.nir and found.last_name == orm.last_name


def test_the_open_alerts_count_compiled_as_the_orm_s():
    """The header's badge: one COUNT per role compiled once, the ORM's statement word for word
    for each organisation of that role (its group and id are values), the same number; the
    drafts of others and resolved alerts left out alike; personal grants go the ORM's way."""
    from notifications.models import Alert
    from notifications.selectors import OPEN_ALERTS, open_alerts_badge, open_alerts_visible_to
    from parcours.models import ReferralStatus

    from .factories import ReferralFactory

    now = timezone.now()
    first, second = MembershipFactory(role="counsellor"), MembershipFactory(role="counsellor")
    alert = lambda referral, **more: Alert.objects.create(  # noqa: E731
        referral=referral, kind="unanswered", level=1, due_at=now, created_at=now, **more
    )
    received = ReferralFactory(receiver_organisation=first.organisation, sent=True)
    alert(received)
    alert(
        ReferralFactory(receiver_organisation=first.organisation, sent=True),
        state="resolved",
        resolved_at=now,
    )
    sent = ReferralFactory(pathway__owner_organisation=second.organisation, sent=True)
    alert(sent)
    draft = ReferralFactory(receiver_organisation=second.organisation)  # another's draft
    assert draft.status == ReferralStatus.DRAFT
    alert(draft)
    alert(ReferralFactory(sent=True))  # neither party
    for membership, expected in ((first, 1), (second, 1), (first, 1)):
        actor = actor_for(membership.user, membership.organisation_id)
        with time_machine.travel(timezone.now(), tick=False), request_memo():
            OPEN_ALERTS.count(actor)
            with CaptureQueriesContext(connection) as compiled_sql:
                assert OPEN_ALERTS.count(actor) == expected
            with CaptureQueriesContext(connection) as orm_sql:
                assert open_alerts_visible_to(actor).count() == expected
        assert [q["sql"] for q in compiled_sql] == [q["sql"] for q in orm_sql]
    # The badge's count up to a bound: the scope's first ids, unordered, as the ORM's slice.
    alert(ReferralFactory(receiver_organisation=first.organisation, sent=True))
    actor = actor_for(first.user, first.organisation_id)
    for most, expected in ((1, 1), (2, 2), (3, 2)):
        with time_machine.travel(timezone.now(), tick=False), request_memo():
            OPEN_ALERTS.count_up_to(actor, most)
            with CaptureQueriesContext(connection) as compiled_sql:
                assert OPEN_ALERTS.count_up_to(actor, most) == expected
            with CaptureQueriesContext(connection) as orm_sql:
                scope = open_alerts_visible_to(actor).order_by().values_list("pk")[:most]
                assert len(scope) == expected
        assert [q["sql"] for q in compiled_sql] == [q["sql"] for q in orm_sql]
        assert f"LIMIT {most}" in compiled_sql[0]["sql"]
    # A break-glass opens its pathway to the user alone: the ORM's shape, the same count.
    bystander = MembershipFactory(role="counsellor")
    actor = actor_for(bystander.user, bystander.organisation_id)
    assert open_alerts_badge(actor) == 0
    CareTeamMemberFactory(pathway=received.pathway, organisation=bystander.organisation)
    break_glass_open(
        actor=actor, pathway_id=received.pathway_id, category=HIDDEN, reason="Urgence signalée"
    )
    with request_memo():
        with pytest.raises(access.NotCompiled):
            OPEN_ALERTS.count(actor)
        # The bounded count reads the ORM's same slice for this shape (no NotCompiled to catch).
        visible = open_alerts_visible_to(actor).count()
        with time_machine.travel(timezone.now(), tick=False):
            with CaptureQueriesContext(connection) as bounded_sql:
                assert OPEN_ALERTS.count_up_to(actor, 100) == visible
            with CaptureQueriesContext(connection) as orm_sql:
                orm = open_alerts_visible_to(actor).order_by().values_list("pk")[:100]
                assert len(orm) == visible
        assert [q["sql"] for q in bounded_sql] == [q["sql"] for q in orm_sql]
        assert open_alerts_badge(actor) == open_alerts_visible_to(actor).count()


def test_the_actor_s_membership_compiled_as_the_orm_s():
    """Every page finds its actor: the same statement as the ORM's `.first()`, for the first
    membership and for one organisation, an inactive one refused, an id out of range too."""
    from parcours.actor import _memberships
    from parcours.errors import NoMembership

    first = MembershipFactory(role="counsellor")
    second = MembershipFactory(user=first.user, role="manager")
    MembershipFactory(user=first.user, is_active=False)
    for organisation in (None, second.organisation_id, first.organisation_id):
        actor_for(first.user, organisation)  # compiled
        with CaptureQueriesContext(connection) as compiled_sql:
            actor = actor_for(first.user, organisation)
        with CaptureQueriesContext(connection) as orm_sql:
            orm = _memberships(first.user, organisation).first()
        assert [q["sql"] for q in compiled_sql] == [q["sql"] for q in orm_sql]
        assert (actor.organisation, actor.role) == (orm.organisation, orm.role)
        with CaptureQueriesContext(connection) as later:
            assert actor.organisation.name == orm.organisation.name  # joined
        assert later.captured_queries == []
    inactive = Membership.objects.get(user=first.user, is_active=False)
    for refused in (inactive.organisation_id, -1, 2**40):
        with pytest.raises(NoMembership):
            actor_for(first.user, refused)
    with pytest.raises(NoMembership):
        actor_for(MembershipFactory(is_active=False).user)


def test_the_personal_grants_compiled_as_the_orm_s():
    """Read once per request by every scope: the ORM's statement, the same rows — none, then
    a break-glass's."""
    from parcours.access import _personal_grants, personal_grants

    pathway = PathwayFactory()
    member = CareTeamMemberFactory(pathway=pathway)
    actor = actor_for(MembershipFactory(organisation=member.organisation).user)
    for opened in (False, True):
        if opened:
            break_glass_open(
                actor=actor,
                pathway_id=pathway.pk,
                category=HIDDEN,
                reason="Préparer l'entretien de la semaine prochaine",
            )
        with time_machine.travel(timezone.now(), tick=False):
            with CaptureQueriesContext(connection) as compiled_sql:
                found = personal_grants(actor)
            with CaptureQueriesContext(connection) as orm_sql:
                orm = list(_personal_grants(actor.user.pk, timezone.now()))
        assert [q["sql"] for q in compiled_sql] == [q["sql"] for q in orm_sql]
        assert found == orm and len(found) == (1 if opened else 0)
        assert all(type(row) is tuple for row in found)


# --- The API's referrals: a detail and the lists received and sent (issue 17) -------------------


def _referrals_of(organisation, start: dt.datetime) -> dict:
    """Referrals `organisation` received and sent (runs of equal `updated_at`: pages of 2 cut
    inside them), each with a message of the other party it has not read; its own draft,
    another's draft on a pathway it owns, one it is no party to, one it does not see."""
    from .factories import ReferralFactory, ReferralMessageFactory

    partner, third = OrganisationFactory(siae=True), OrganisationFactory()
    made: dict = {"received": [], "sent": []}
    for n in range(6):
        with time_machine.travel(start + dt.timedelta(minutes=n // 3), tick=False):
            received = ReferralFactory(
                pathway=PathwayFactory(owner_organisation=third),
                receiver_organisation=organisation,
                accepted=True,
            )
            ReferralMessageFactory(referral=received)
            sent = ReferralFactory(
                pathway=PathwayFactory(owner_organisation=organisation),
                receiver_organisation=partner,
                sent=True,
            )
            ReferralMessageFactory(referral=sent, from_receiver=True)
            made["received"].append(received)
            made["sent"].append(sent)
    with time_machine.travel(start + dt.timedelta(minutes=5), tick=False):
        mine = PathwayFactory(owner_organisation=organisation)
        made["transfer"] = ReferralFactory(
            pathway=mine, receiver_organisation=partner, transfer_proposed=True
        )
        made["draft"] = ReferralFactory(pathway=PathwayFactory(owner_organisation=organisation))
        # The partner's draft on a pathway the organisation sees: not shown to it.
        made["others_draft"] = ReferralFactory(pathway=mine, sender_organisation=partner)
        # Between the partner and a third party, on a pathway the organisation also sees.
        made["bystander"] = ReferralFactory(
            pathway=mine, sender_organisation=partner, receiver_organisation=third, sent=True
        )
        made["unseen"] = ReferralFactory(
            pathway=PathwayFactory(owner_organisation=third),
            receiver_organisation=partner,
            sent=True,
        )
    return made


def test_a_referral_s_detail_runs_the_orm_s_sql_and_answers_its_bytes(client_for, monkeypatch):
    """`GET /api/v1/referrals/<id>/` through the compiled scope and through the ORM (the
    compiled record switched off): for a referral received, sent, in transfer, one's own draft,
    another's (404), one it is no party to, one it does not see (404, the probe journaled
    alike), a missing id — the same statements word for word (the parties still fetched after
    the row, the unread count, the journal) and the same bytes, for two organisations of one
    role (compiled for the first, run with the second's values)."""
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    compiled_record = views.ReferralViewSet.scoped_record
    found = []
    real_find = access.ScopedRecord.find

    def counted(self, actor, pk):
        answer = real_find(self, actor, pk)
        found.append((pk, answer is not None))
        return answer

    monkeypatch.setattr(access.ScopedRecord, "find", counted)
    for _organisation in range(2):
        membership = MembershipFactory(role="counsellor")
        actor = actor_for(membership.user, membership.organisation_id)
        made = _referrals_of(membership.organisation, start)
        ids = [
            made["received"][0].pk,
            made["sent"][0].pk,
            made["transfer"].pk,
            made["draft"].pk,
            made["others_draft"].pk,
            made["bystander"].pk,
            made["unseen"].pk,
            0,
        ]
        client = client_for(actor)
        headers = {"X-Request-ID": "referral-compiled"}
        answers = {}
        for record in (compiled_record, None):
            monkeypatch.setattr(views.ReferralViewSet, "scoped_record", record)
            runs = []
            for pk in ids:
                with (
                    time_machine.travel(start + dt.timedelta(days=1), tick=False),
                    CaptureQueriesContext(connection) as captured,
                ):
                    response = client.get(f"/api/v1/referrals/{pk}/", headers=headers)
                sql = [q["sql"] for q in captured.captured_queries]
                runs.append((response.status_code, response.content, sql))
            answers[record is None] = runs
        assert answers[False] == answers[True]
        statuses = [status for status, _body, _sql in answers[False]]
        assert statuses == [200, 200, 200, 200, 404, 200, 404, 404]
        received, sent = (json.loads(body) for _status, body, _sql in answers[False][:2])
        assert received["unread_messages"] == sent["unread_messages"] == 1
        assert received["receiver_organisation"]["id"] == membership.organisation_id
        assert sent["sender_organisation"]["id"] == membership.organisation_id
    # Every id went the compiled way (0 too: a well-formed id no record has).
    assert [seen for _pk, seen in found] == 2 * [True, True, True, True, False, True, False, False]


def test_the_referral_lists_run_the_orm_s_sql_and_answer_its_bytes(client_for, monkeypatch):
    """A partner's referrals received and sent (`?receiver=` / `?sender=` its own id), and the
    list without a filter, through the compiled page and through the ORM: every page forward
    and back (pages of 2 cut inside runs of equal `updated_at`), the same statements — but the
    filter form's lookup of the organisation, the acting one, which the compiled page does not
    need — and the same bytes. Another organisation's id, an id written another way or another
    filter go the ORM's way in both."""
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    membership = MembershipFactory(role="counsellor")
    actor = actor_for(membership.user, membership.organisation_id)
    made = _referrals_of(membership.organisation, start)
    own, partner = membership.organisation_id, made["sent"][0].receiver_organisation_id
    client = client_for(actor)
    headers = {"X-Request-ID": "referral-list-compiled"}
    urls = [
        f"/api/v1/referrals/?receiver={own}&page_size=2",
        f"/api/v1/referrals/?sender={own}&page_size=2",
        f"/api/v1/referrals/?sender={own}&receiver={own}",
        "/api/v1/referrals/?page_size=4",
        f"/api/v1/referrals/?receiver={partner}&page_size=2",  # the ORM's, in both
        f"/api/v1/referrals/?receiver=0{own}&page_size=4",  # the same
        f"/api/v1/referrals/?receiver={own}&status=accepted&page_size=4",  # the same
    ]
    compiled_runs, orm_runs, calls = _compiled_then_orm(
        monkeypatch, client, urls, headers, at=start + dt.timedelta(days=1)
    )
    runs = {False: compiled_runs, True: orm_runs}
    compiled_pages = [(args[1], args[3] > 0, narrowed) for args, narrowed in calls]
    with CaptureQueriesContext(connection) as form:  # as the filter's form finds its value
        Organisation.objects.get(pk=str(own))
    (lookup,) = [q["sql"] for q in form.captured_queries]
    for compiled, orm in zip(runs[False], runs[True], strict=True):
        for (url, body, sql), (orm_url, orm_body, orm_sql) in zip(compiled, orm, strict=True):
            assert (url, body) == (orm_url, orm_body)
            if sql != orm_sql:  # the form's lookups of the acting organisation, alone
                assert orm_sql.count(lookup) == url.count(f"={own}") > 0
                assert sql == [q for q in orm_sql if q != lookup]

    def listed(run) -> set[int]:
        return {row["id"] for _url, body, _sql in run for row in json.loads(body)["results"]}

    received, sent, both, everything = runs[False][:4]
    assert listed(received) == {r.pk for r in made["received"]}
    assert listed(sent) == {r.pk for r in made["sent"]} | {made["transfer"].pk, made["draft"].pk}
    assert listed(both) == set()
    assert listed(everything) == listed(received) | listed(sent) | {made["bystander"].pk}
    # Pages of 2: 3 forward and 2 back, 4 and 3; one empty; by 4: 4 and 3; then the ORM's.
    assert [len(run) for run in runs[False]] == [5, 7, 1, 7, 7, 3, 3]
    # In the URL's order; the page applies them in the filter set's (the same SQL above).
    narrowings = {narrowed for _lookup, _offset, narrowed in compiled_pages}
    assert narrowings == {("receiver",), ("sender",), ("sender", "receiver"), ()}
    assert len(compiled_pages) == 5 + 7 + 1 + 7
    assert {(lookup is None, offset) for lookup, offset, _n in compiled_pages} == {
        (True, False),
        (True, True),
        (False, False),
        (False, True),
    }


def test_the_referral_page_s_referral_compiled_as_the_orm_s(monkeypatch):
    """The referral's page (`/orientations/<id>/`) and its moves read the referral through its
    scope compiled once per role: the ORM's statements, its instance with its parties, a
    transfer's both ends and their receivers prefetched; the page answers the same HTML (but
    the forms' CSRF tokens, new on every answer) with the same statements; out of scope, 404."""

    from django.test import Client

    from web.views import referrals as pages
    from web.views.referrals import REFERRAL, _referral_page_scope

    from .factories import ReferralFactory

    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    membership = MembershipFactory(role="counsellor")
    actor = actor_for(membership.user, membership.organisation_id)
    made = _referrals_of(membership.organisation, start)
    transfer = made["transfer"]
    successor = ReferralFactory(
        pathway=transfer.pathway, receiver_organisation=OrganisationFactory(), sent=True
    )
    transfer.transferred_to = successor
    transfer.save(update_fields=["transferred_to"])
    ids = [
        made["received"][0].pk,
        made["sent"][0].pk,
        transfer.pk,
        successor.pk,
        made["draft"].pk,
        made["others_draft"].pk,
        made["unseen"].pk,
        0,
    ]
    for pk in ids:
        found, orm, compiled_sql, orm_sql = _both(REFERRAL, actor, _referral_page_scope, pk)
        assert [q["sql"] for q in compiled_sql] == [q["sql"] for q in orm_sql]
        assert (found is None) == (orm is None)
        if orm is None:
            continue
        assert found.pk == orm.pk
        for field in type(orm)._meta.concrete_fields:
            assert getattr(found, field.attname) == getattr(orm, field.attname), field.name
        with CaptureQueriesContext(connection) as later:  # all came with the row
            assert found.sender_organisation == orm.sender_organisation
            assert found.assigned_user == orm.assigned_user
            assert found.pathway.person.last_name == orm.pathway.person.last_name
            if orm.transferred_to_id:
                assert found.transferred_to.receiver_organisation.name == (
                    orm.transferred_to.receiver_organisation.name
                )
        assert later.captured_queries == []
    assert REFERRAL.find(actor, successor.pk).transferred_from.pk == transfer.pk

    client = Client()
    client.force_login(membership.user)

    def answers() -> list:
        urls = [f"/orientations/{pk}/" for pk in ids]
        return _page_runs(client, urls, at=start + dt.timedelta(days=1), request_id="page")

    compiled = answers()

    def not_compiled(actor, pk):
        raise access.NotCompiled

    monkeypatch.setattr(pages.REFERRAL, "find", not_compiled)
    orm_answers = answers()
    # A page read marks the thread read: the second visit of each has nothing new, as would a
    # second visit through the same path. Compare the ORM's visits with compiled ones after.
    monkeypatch.undo()
    again = answers()
    assert [status for status, _body, _sql in compiled] == [200] * 5 + [404] * 3
    assert again == orm_answers


def test_the_referral_page_s_reads_compiled_as_the_orm_s(monkeypatch):
    """The referral's page reads its alerts, its thread and the thread's count past the 100
    shown (`access.ScopedRows`), its appointments, the receiver link's block of its sender and
    the referral's parties and transfer (`CompiledPrefetch`) through statements compiled once:
    with each of them switched off (the ORM's querysets of before), the same statements word
    for word and the same HTML, for two organisations of one role (compiled for the first, run
    with the second's values); out of scope, 404 in both."""
    import uuid

    from django.test import Client

    from notifications.models import Alert
    from parcours.models import ReceiverLink, ReferralMessage
    from parcours.selectors import referral_messages
    from parcours.services import receiver_link as link_services
    from web.views import referrals as pages

    from .factories import AppointmentFactory, ReferralFactory

    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    compiled_reads: list[str] = []

    def counted(method):  # type: ignore[no-untyped-def]
        def run(self, actor, **values):  # type: ignore[no-untyped-def]
            compiled_reads.append(self.model.__name__)
            return method(self, actor, **values)

        return run

    monkeypatch.setattr(access.ScopedRows, "all", counted(access.ScopedRows.all))
    monkeypatch.setattr(access.ScopedRows, "count", counted(access.ScopedRows.count))
    for _organisation in range(2):
        membership = MembershipFactory(role="counsellor")
        made = _referrals_of(membership.organisation, start)
        received, sent, transfer = made["received"][0], made["sent"][0], made["transfer"]
        with time_machine.travel(start + dt.timedelta(hours=2), tick=False):
            successor = ReferralFactory(
                pathway=transfer.pathway, receiver_organisation=OrganisationFactory(), sent=True
            )
            transfer.transferred_to = successor
            transfer.save(update_fields=["transferred_to"])
            for referral in (received, sent):
                for kind in ("unanswered", "no_show"):
                    Alert.objects.create(
                        referral=referral, kind=kind, level=1, due_at=start, created_at=start
                    )
                AppointmentFactory(
                    referral=referral,
                    starts_at=start + dt.timedelta(days=2),
                    outcome="cancelled",
                    outcome_recorded_at=start,
                )
                AppointmentFactory(referral=referral, starts_at=start + dt.timedelta(days=9))
            # Past the 100 messages the page shows: the thread's count is read too.
            ReferralMessage.objects.bulk_create(
                ReferralMessage(
                    referral=received,
                    author=received.sender_user,
                    author_organisation=received.sender_organisation,
                    text=f"Message {n}",
                    created_at=start,
                )
                for n in range(referral_messages.THREAD_SHOWN + 2)
            )
            for referral in (sent, made["draft"]):
                ReceiverLink.objects.create(
                    referral=referral,
                    organisation=referral.receiver_organisation,
                    token_hash=uuid.uuid4().hex + uuid.uuid4().hex,
                    created_at=start,
                    expires_at=start + dt.timedelta(days=30),
                )
        ids = [
            received.pk,
            sent.pk,
            transfer.pk,
            successor.pk,
            made["draft"].pk,
            made["others_draft"].pk,
            made["unseen"].pk,
            0,
        ]
        client = Client()
        client.force_login(membership.user)

        def answers(ids: list[int], client: Client) -> list:
            urls = [f"/orientations/{pk}/" for pk in ids]
            return _page_runs(client, urls, at=start + dt.timedelta(days=1), request_id="p")

        compiled_reads.clear()
        compiled = answers(ids, client)
        # The alerts and the thread of each page shown, the count of the long one's.
        assert compiled_reads.count("Alert") == 5 and compiled_reads.count("ReferralMessage") == 6

        def not_compiled(*args, **kwargs):  # type: ignore[no-untyped-def]
            raise access.NotCompiled

        class NewestLinkByTheOrm:
            @staticmethod
            def first(referral):  # type: ignore[no-untyped-def]
                return (
                    ReceiverLink.objects.filter(referral=referral)
                    .order_by("-created_at", "-pk")
                    .first()
                )

        with monkeypatch.context() as orm:
            orm.setattr(pages.REFERRAL, "find", not_compiled)  # its prefetches the ORM's too
            orm.setattr(access.ScopedRows, "all", not_compiled)
            orm.setattr(access.ScopedRows, "count", not_compiled)
            orm.setattr(
                pages, "appointments_of", lambda r: list(r.appointments.order_by("-starts_at"))
            )
            orm.setattr(link_services, "_NEWEST_LINK", NewestLinkByTheOrm)
            orm_answers = answers(ids, client)
        # A page read marks the thread read: the second visit of each has nothing new, as would
        # a second visit through the same path. Compare the ORM's visits with compiled ones after.
        again = answers(ids, client)
        assert [status for status, _body, _sql in compiled] == [200] * 5 + [404] * 3
        assert again == orm_answers
        received_page, sent_page, draft_page = compiled[0][1], compiled[1][1], compiled[4][1]
        for page in (received_page, sent_page):
            assert b"Alertes" in page and b"Rendez-vous" in page
        assert b"3 message(s) plus ancien(s)" in received_page  # 1 + 102, 100 shown
        assert b'id="lien-destinataire"' in sent_page and b'id="lien-destinataire"' in draft_page


def test_the_inbox_compiled_as_the_orm_s(monkeypatch):
    """« Orientations reçues » reads its count and its page through statements compiled once per
    role, filters and page (`access.ScopedRows`), their parties through `CompiledPrefetch`: for
    each filter (state, « issue à saisir », the acting user's, the unassigned, an age, a URL
    typed by hand) and page, the same statements word for word and the same HTML as through the
    ORM's queryset (the compiled inbox switched off), for two organisations of one role; a
    break-glass still goes the ORM's way."""

    from django.test import Client

    from parcours.models import Referral
    from web.views import referrals as pages

    from .factories import AppointmentFactory, ReferralFactory

    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(pages, "PAGE_SIZE", 4)  # pages cut inside the 10 received
    compiled_reads: list[str] = []
    real_all, real_count = access.ScopedRows.all, access.ScopedRows.count

    def all_rows(self, actor, **values):  # type: ignore[no-untyped-def]
        compiled_reads.append("page")
        return real_all(self, actor, **values)

    def count(self, actor, **values):  # type: ignore[no-untyped-def]
        compiled_reads.append("count")
        return real_count(self, actor, **values)

    monkeypatch.setattr(access.ScopedRows, "all", all_rows)
    monkeypatch.setattr(access.ScopedRows, "count", count)
    urls = [
        "/orientations/recues/",
        "/orientations/recues/?page=2",
        "/orientations/recues/?page=3",
        "/orientations/recues/?page=99",
        "/orientations/recues/?statut=sent",
        "/orientations/recues/?statut=accepted&page=2",
        "/orientations/recues/?statut=issue-a-saisir",
        "/orientations/recues/?attribution=mes-orientations",
        "/orientations/recues/?attribution=non-attribuees&age=0",
        "/orientations/recues/?age=30",
        "/orientations/recues/?statut=draft&attribution=x&age=%C2%B2",
    ]
    for _organisation in range(2):
        membership = MembershipFactory(role="counsellor")
        organisation = membership.organisation
        made = _referrals_of(organisation, start)
        with time_machine.travel(start - dt.timedelta(days=40), tick=False):
            for assigned in (membership.user, None):
                ReferralFactory(
                    receiver_organisation=organisation, sent=True, assigned_user=assigned
                )
            waiting = ReferralFactory(receiver_organisation=organisation, appointment_set=True)
            AppointmentFactory(referral=waiting, starts_at=start - dt.timedelta(days=2))
        made["received"][1].assigned_user = membership.user
        made["received"][1].save(update_fields=["assigned_user"])
        client = Client()
        client.force_login(membership.user)
        client.get("/")  # the session's first request checks the second factor, once

        def answers(client: Client) -> list:
            at = start + dt.timedelta(days=1)
            runs = _page_runs(client, urls, at=at, request_id="inbox")
            return [(url, *run) for url, run in zip(urls, runs, strict=True)]

        compiled_reads.clear()
        compiled = answers(client)
        # Each URL counted, and its page read, compiled.
        assert compiled_reads.count("count") == compiled_reads.count("page") == len(urls)
        with monkeypatch.context() as orm:
            orm.setattr(access.ScopedRows, "compiles", lambda self, actor: False)
            compiled_reads.clear()
            orm_answers = answers(client)
            assert compiled_reads == []
        assert compiled == orm_answers
        with monkeypatch.context() as few:  # the least recently used shapes forgotten
            few.setattr(pages.INBOX_PAGES, "limit", 2)
            pages.INBOX_PAGES.forget()
            assert answers(client) == compiled and len(pages.INBOX_PAGES) == 2
        assert {status for _url, status, _body, _sql in compiled} == {200}
        totals = [re.search(rb"(\d+) orientation\(s\)", body)[1] for _u, _s, body, _q in compiled]
        # 6 + 3 received; 2 sent (unanswered); 6 accepted; 1 whose appointment passed without
        # an outcome; 2 the acting user's; 7 nobody's; 3 sent 30 days before or more.
        assert totals == [b"9"] * 4 + [b"2", b"6", b"1", b"2", b"7", b"3", b"9"]
        shown = [set(re.findall(rb"/orientations/(\d+)/", body)) for _u, _s, body, _q in compiled]
        assert [len(ids) for ids in shown[:4]] == [4, 4, 1, 1] and shown[3] == shown[2]
        assert set().union(*shown[:3]) == {
            str(r.pk).encode() for r in Referral.objects.filter(receiver_organisation=organisation)
        } - {str(made["transfer"].pk).encode()}
    # A break-glass: the scope's SQL has another shape, the ORM's queryset.
    pathway = PathwayFactory()
    CareTeamMemberFactory(pathway=pathway, organisation=organisation)
    break_glass_open(
        actor=actor_for(membership.user, organisation.pk),
        pathway_id=pathway.pk,
        category=HIDDEN,
        reason="Préparer l'entretien de la semaine prochaine",
    )
    compiled_reads.clear()
    with time_machine.travel(start + dt.timedelta(days=1), tick=False):
        assert client.get("/orientations/recues/").status_code == 200
    assert compiled_reads == []


def test_personnes_suivies_compiled_as_the_orm_s(monkeypatch):
    """« Personnes suivies » reads its count and its page through statements compiled once per
    role and page (web/compiled_pages.py), the acting user's id a parameter named twice (the
    référent's pathways, those of the referrals the user is in charge of): for two users of two
    organisations of one role, every page gives the same statements word for word and the same
    HTML as the ORM's queryset (compiled pages switched off); a closed pathway, a colleague's,
    a referral handled no more are not listed; a break-glass goes the ORM's way."""
    from django.test import Client

    from web.views import worklists as pages

    from .factories import ReferralFactory

    monkeypatch.setattr(pages, "PAGE_SIZE", 3)  # 7 followed: pages of 3, 3 and 1
    compiled_reads: list[str] = []
    real_all, real_count = access.ScopedRows.all, access.ScopedRows.count

    def all_rows(self, actor, **values):  # type: ignore[no-untyped-def]
        compiled_reads.append("page")
        return real_all(self, actor, **values)

    def count(self, actor, **values):  # type: ignore[no-untyped-def]
        compiled_reads.append("count")
        return real_count(self, actor, **values)

    monkeypatch.setattr(access.ScopedRows, "all", all_rows)
    monkeypatch.setattr(access.ScopedRows, "count", count)
    urls = [f"/personnes/suivies/?page={n}" for n in ("", 2, 3, 99, "x")]
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    for _organisation in range(2):
        membership = MembershipFactory(role="counsellor")
        organisation, user = membership.organisation, membership.user
        colleague = MembershipFactory(organisation=organisation, role="counsellor").user
        with time_machine.travel(start, tick=False):  # equal opening times: pages cut by id
            followed = [
                PathwayFactory(owner_organisation=organisation, referent=user) for _ in range(5)
            ]
            PathwayFactory(owner_organisation=organisation, referent=colleague)
            PathwayFactory(
                owner_organisation=organisation,
                referent=user,
                status="closed",
                outcome="job",
                closed_at=start,
            )
        for status in ("accepted", "appointment_set", "closed"):
            referral = ReferralFactory(
                receiver_organisation=organisation, assigned_user=user, **{status: True}
            )
            if status != "closed":
                followed.append(referral.pathway)
        client = Client()
        client.force_login(user)
        client.get("/")  # the session's first request checks the second factor, once

        def answers(client: Client) -> list:
            runs = _page_runs(client, urls, at=start + dt.timedelta(days=1), request_id="suivies")
            return [(url, *run) for url, run in zip(urls, runs, strict=True)]

        compiled_reads.clear()
        compiled = answers(client)
        assert compiled_reads.count("count") == compiled_reads.count("page") == len(urls)
        with monkeypatch.context() as orm:
            orm.setattr(access.ScopedRows, "compiles", lambda self, actor: False)
            compiled_reads.clear()
            orm_answers = answers(client)
            assert compiled_reads == []
        assert compiled == orm_answers
        assert {status for _url, status, _body, _sql in compiled} == {200}
        assert all(b"7 personnes suivies" in body for _u, _s, body, _q in compiled)
        shown = [re.findall(rb'href="/personnes/(\d+)/"', body) for _u, _s, body, _q in compiled]
        assert [len(ids) for ids in shown] == [3, 3, 1, 1, 3]
        assert {int(pk) for ids in shown[:3] for pk in ids} == {p.person_id for p in followed}
    # A break-glass: the scope's SQL has another shape, the ORM's queryset.
    pathway = PathwayFactory()
    CareTeamMemberFactory(pathway=pathway, organisation=organisation)
    break_glass_open(
        actor=actor_for(user, organisation.pk),
        pathway_id=pathway.pk,
        category=HIDDEN,
        reason="Préparer l'entretien de la semaine prochaine",
    )
    compiled_reads.clear()
    with time_machine.travel(start + dt.timedelta(days=1), tick=False):
        assert client.get("/personnes/suivies/").status_code == 200
    assert compiled_reads == []
