"""Stateful property test of the one gate (issue 12, ADR 0010).

Hypothesis runs random sequences of what changes who sees what — consents given (some starting
later, some ending soon), narrowed and revoked; agreements proposed, accepted and declined by each
party; referrals created, sent, accepted, refused, withdrawn and closed through the transitions
table; the clock moved by hours to months, with the periodic tasks beat runs — each a real call
to the services with a real `Actor`, the calls the API and the pages make.

After every step, for each organisation's counsellor and each person and pathway:

1. **the API** (`GET /api/v1/persons/{id}/`, `/api/v1/pathways/{id}/`, `/api/v1/pathways/`)
   answers 200 with the fields of the categories the gate grants, or 404 when out of scope;
2. **the person page** (`/personnes/{id}/`) shows the same categories (a field of each shown,
   each other one named "non partagé"), or 404 when the API says 404;
3. **the gate** (`pathways_visible_to`, `persons_visible_to`, `grants_for`) answers the same;
4. **the journal**: each of those accesses left exactly one new row (one per group for a list,
   each pathway listed in exactly one), through its door, with the categories shown, the bases
   behind them and the purpose of the organisation's relation; a 404 on a record that exists
   left one refusal; each write a service made or refused left one row; nothing else wrote one.

What is asked when: the gate (3), against the oracle, for every organisation and record after
every step, and after a clock move also before the tasks run (the rows' intervals alone must
open and close access on time); each organisation's list of pathways (1) after every step; the
record through the API and the person's page (1, 2) whenever the gate's answer for that
organisation and record is one the doors were not asked about yet — a door shows what the gate
answers, so each new answer goes through both doors, and the journal row of each of those reads
is checked (4). An answer the doors already showed for that record is not asked again: asking
every door about every record after every step would cost about a second a step on this 2-core
machine (a person page is some twenty-five queries).

And all of them equal an **oracle** computed here, in plain Python, from the steps applied and
the rules of docs/access-control.md (not from the code under test): an organisation sees a
category of a pathway when one of its relationship's reasons, live now, carries the category
(owner, référent, care team: every category; a referral's sender: every one; its receiver, once
it was sent: what the sender shared and identity and pathway — until its counsellor accepts it,
when the receiver joins the care team; an ended referral's parties until its end + the grace
period) and a basis covers it now (holder of the file; the legal bases of its
kind for this person today — public employment service, rSa, a Mission locale's for people under
26; an agreement every party accepted, with the owner, within its dates; a consent naming it or
its kind, within its dates, not revoked; an open referral's minimum for its two parties).

Each example runs in a savepoint rolled back at its end, from the same world and the same instant
(time stands still between steps); `derandomize=True` makes the examples the same on every run.
"""

import datetime as dt
import os
from collections import defaultdict
from dataclasses import dataclass, field

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django.utils.text import capfirst
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from rest_framework.test import APIClient

from parcours import access
from parcours.actor import Actor
from parcours.categories import PATHWAY_FIELDS, PERSON_FIELDS, DataCategory
from parcours.errors import Conflict, DuplicateReferral, InvalidInput, NotAllowed
from parcours.gate import Door, door
from parcours.models import AccessEvent, Consent, Pathway, Person, Referral, Role
from parcours.rules import purpose_of
from parcours.services import agreement as agreement_services
from parcours.services import consent as consent_services
from parcours.services import referral as referral_services
from parcours.tasks import (
    access_prune_expired_grants,
    access_recompute_owned_by,
    referrals_expire_unanswered,
)
from parcours.transitions import Action as Move
from parcours.transitions import Party, actions_available

from ..factories import (
    CareTeamMemberFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
CATEGORIES = ("identity", "contact", "pathway", "social", "health", "justice")
SENSITIVE = frozenset({"health", "justice"})
HOLDER = frozenset(CATEGORIES) - SENSITIVE  # what the holder of the file sees (legal:owner)
MINIMUM = frozenset({"identity", "pathway"})  # what a referral always carries
GRACE = dt.timedelta(days=django_settings.PARCOURS_RELATIONSHIP_GRACE_DAYS)
EXPIRY = dt.timedelta(days=django_settings.PARCOURS_REFERRAL_EXPIRY_DAYS)
HORIZON = dt.timedelta(days=400)  # the clock stays well within retention's two years
OPEN = {"draft", "sent", "accepted", "appointment_set", "attended", "no_show"}
TERMINAL_AT = {"refused", "withdrawn", "expired", "closed"}

# organisation → its kind
ORGS = {"ft": "france_travail", "ml": "mission_locale", "ccas": "ccas", "siae": "siae"}
KINDS = sorted(set(ORGS.values()))
# One field of each category on each door, as the API names it and as the person page labels it.
PERSON_MARKERS = {
    "identity": "birth_date",
    "contact": "email",
    "pathway": "receives_rsa",
    "social": "lives_in_qpv",
    "health": "rqth",
    "justice": "court_supervision",
}
PATHWAY_MARKERS = {"identity": "person", "pathway": "status", "social": "diagnostic_summary"}
MOVES = (Move.SEND, Move.WITHDRAW, Move.ACCEPT, Move.REFUSE, Move.CLOSE)
MOVE_DETAILS = {
    Move.REFUSE: {"refusal_reason": "no_capacity"},
    Move.CLOSE: {"outcome": "support_started"},
}


def _age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# --- The oracle's state: what the steps did -----------------------------------------------------


@dataclass
class MPerson:
    pk: int
    birth: dt.date
    rsa: bool


@dataclass
class MPathway:
    pk: int
    person: str
    owner: str
    is_open: bool
    care_team: frozenset[str] = frozenset()


@dataclass
class MConsent:
    pk: int
    person: str
    orgs: set[str]
    kinds: set[str]
    categories: set[str]
    starts_on: dt.date
    ends_on: dt.date | None
    collector: str
    revoked: bool = False


@dataclass
class MAgreement:
    pk: int
    answers: dict[str, str]  # party → accepted, pending, declined
    shared: set[str]
    starts_on: dt.date
    ends_on: dt.date | None

    @property
    def binds(self) -> bool:
        return all(answer == "accepted" for answer in self.answers.values())


@dataclass
class MReferral:
    pk: int
    pathway: str
    sender: str
    receiver: str
    shared: frozenset[str]
    status: str
    sent_at: dt.datetime | None
    ended_at: dt.datetime | None = None


@dataclass(frozen=True)
class Expected:
    """What an organisation should see of a pathway now: category → bases, and the reasons of
    its relationship that carry them (the purpose journaled)."""

    bases: dict[str, frozenset[str]]
    relations: frozenset[str]

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(self.bases)

    @property
    def key(self) -> tuple:
        return frozenset((c, frozenset(codes)) for c, codes in self.bases.items()), self.relations


@dataclass
class Oracle:
    persons: dict[str, MPerson]
    pathways: dict[str, MPathway]
    consents: list[MConsent] = field(default_factory=list)
    agreements: list[MAgreement] = field(default_factory=list)
    referrals: list[MReferral] = field(default_factory=list)

    def spans(self, org: str, pathway: str, now: dt.datetime) -> list[tuple[str, frozenset | None]]:
        """The reasons live now of `org`'s relationship with the pathway, each with its cap."""
        p = self.pathways[pathway]
        spans: list[tuple[str, frozenset | None]] = []
        if p.owner == org:  # the owner names the référent's organisation: itself here
            spans += [("owner", None), ("referent", None)]
        if org in p.care_team:
            spans.append(("care_team", None))
        for r in self.referrals:
            if r.pathway != pathway:
                continue
            if r.status not in OPEN and r.ended_at + GRACE <= now:  # type: ignore[operator]
                continue
            if r.sender == org:
                spans.append(("sender", None))
            if r.receiver == org and r.sent_at is not None:  # received once sent, never a draft
                spans.append(("receiver", r.shared | MINIMUM))
        return spans

    def bases(self, org: str, pathway: str, now: dt.datetime) -> dict[str, set[str]]:
        """Category → the bases covering it for `org` now, relationship or not."""
        p = self.pathways[pathway]
        person = self.persons[p.person]
        today = timezone.localdate(now)
        bases: dict[str, set[str]] = defaultdict(set)
        if p.owner == org:
            for category in HOLDER:
                bases[category].add("legal:owner")
        kind = ORGS[org]
        if kind == "france_travail" or (
            kind == "mission_locale" and _age_on(person.birth, today) < 26
        ):
            for category in ("identity", "contact", "pathway"):
                bases[category].add("legal:spe")
        if kind == "france_travail" and person.rsa:
            for category in ("identity", "contact", "pathway"):
                bases[category].add("legal:rsa")
        for a in self.agreements:
            within = a.starts_on <= today and (a.ends_on is None or today <= a.ends_on)
            if a.binds and within and org in a.answers and p.owner in a.answers:
                for category in a.shared - SENSITIVE:
                    bases[category].add(f"agreement:{a.pk}")
        for c in self.consents:
            within = c.starts_on <= today and (c.ends_on is None or today <= c.ends_on)
            named = org in c.orgs or kind in c.kinds
            if c.person == p.person and not c.revoked and within and named:
                for category in c.categories:
                    bases[category].add(f"consent:{c.pk}")
        for r in self.referrals:
            if (
                r.pathway == pathway
                and r.status in OPEN - {"draft"}
                and org in (r.sender, r.receiver)
            ):
                for category in MINIMUM:
                    bases[category].add(f"referral:{r.pk}")
        return bases

    def expected(self, org: str, pathway: str, now: dt.datetime) -> Expected:
        spans = self.spans(org, pathway, now)
        bases = self.bases(org, pathway, now)

        def carried(category: str, cap) -> bool:
            return cap is None or category in cap

        shown = {
            category: frozenset(codes)
            for category, codes in bases.items()
            if codes and any(carried(category, cap) for _reason, cap in spans)
        }
        relations = frozenset(
            reason for reason, cap in spans if any(carried(c, cap) for c in shown)
        )
        return Expected(shown, relations)

    def reasons(self, org: str, pathway: str, now: dt.datetime) -> set[str]:
        return {reason for reason, _cap in self.spans(org, pathway, now)}

    def of_person(self, org: str, person: str, now: dt.datetime) -> Expected:
        """The union over the person's pathways."""
        bases: dict[str, set[str]] = defaultdict(set)
        relations: set[str] = set()
        for name, p in self.pathways.items():
            if p.person == person:
                seen = self.expected(org, name, now)
                for category, codes in seen.bases.items():
                    bases[category] |= codes
                relations |= seen.relations
        return Expected({c: frozenset(codes) for c, codes in bases.items()}, frozenset(relations))

    def covered_for(self, org: str, pathway: str, now: dt.datetime) -> set[str]:
        """What a referral may share with `org`: the categories a basis of its own covers now,
        relationship or not (docs/access-control.md §6) — not an open referral's minimum."""
        return {
            category
            for category, codes in self.bases(org, pathway, now).items()
            if any(not code.startswith("referral:") for code in codes)
        }


# --- The world every example starts from --------------------------------------------------------


@dataclass
class World:
    orgs: dict
    counsellors: dict[str, Actor]
    managers: dict[str, Actor]
    persons: dict[str, Person]
    pathways: dict[str, Pathway]
    api: dict[str, APIClient]
    pages: dict[str, Client]
    birthday: dt.date
    # (record type, organisation, id, the gate's answer) the doors were asked about, in any
    # example: every example starts from this world at the same instant.
    asked: set = field(default_factory=set)

    @classmethod
    def build(cls) -> "World":
        """France Travail, a Mission locale, a CCAS and an SIAE, each with a counsellor and a
        manager. A young woman turning 26 in four months, followed by the CCAS with the Mission
        locale in her care team; an rSa beneficiary followed by France Travail, whose earlier
        pathway the CCAS closed; a man followed by the SIAE."""
        orgs = {
            name: OrganisationFactory(
                kind=kind, siae_kind="ACI" if kind == "siae" else "", name=f"Organisation {name}"
            )
            for name, kind in ORGS.items()
        }

        def actor(name: str, role: str) -> Actor:
            user = MembershipFactory(organisation=orgs[name], role=role).user
            return Actor(user=user, organisation=orgs[name], role=role)

        counsellors = {name: actor(name, Role.COUNSELLOR) for name in ORGS}
        managers = {name: actor(name, Role.MANAGER) for name in ORGS}
        birthday = timezone.localdate() + dt.timedelta(days=120)
        persons = {
            "young": PersonFactory(birth_date=birthday.replace(year=birthday.year - 26)),
            "rsa": PersonFactory(birth_date=dt.date(1984, 11, 3), receives_rsa=True),
            "plain": PersonFactory(birth_date=dt.date(1990, 5, 17)),
        }
        pathways = {
            "young": PathwayFactory(person=persons["young"], owner_organisation=orgs["ccas"]),
            "rsa": PathwayFactory(person=persons["rsa"], owner_organisation=orgs["ft"]),
            "rsa_before": PathwayFactory(
                person=persons["rsa"],
                owner_organisation=orgs["ccas"],
                status="closed",
                outcome="other",
                opened_at=timezone.now() - dt.timedelta(days=400),
                closed_at=timezone.now() - dt.timedelta(days=200),
            ),
            "plain": PathwayFactory(person=persons["plain"], owner_organisation=orgs["siae"]),
        }
        CareTeamMemberFactory(pathway=pathways["young"], organisation=orgs["ml"])
        api, pages = {}, {}
        for name, counsellor in counsellors.items():
            api[name] = APIClient()
            api[name].force_authenticate(user=counsellor.user)
            api[name].credentials(HTTP_X_PARCOURS_ORGANISATION=str(orgs[name].pk))
            pages[name] = Client()  # logged in by each example (sessions end after 30 idle min)
        return cls(orgs, counsellors, managers, persons, pathways, api, pages, birthday)

    def oracle(self) -> Oracle:
        return Oracle(
            persons={
                name: MPerson(p.pk, p.birth_date, p.receives_rsa)
                for name, p in self.persons.items()
            },
            pathways={
                "young": MPathway(
                    self.pathways["young"].pk, "young", "ccas", True, frozenset({"ml"})
                ),
                "rsa": MPathway(self.pathways["rsa"].pk, "rsa", "ft", True),
                "rsa_before": MPathway(self.pathways["rsa_before"].pk, "rsa", "ccas", False),
                "plain": MPathway(self.pathways["plain"].pk, "plain", "siae", True),
            },
        )


# --- Doors and journal --------------------------------------------------------------------------


def _last_row() -> int:
    return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _label(field_name: str) -> str:
    return str(capfirst(Person._meta.get_field(field_name).verbose_name))


PAGE_SHOWN = {
    c: f'<dt class="fr-text--bold fr-mb-0">{_label(f)}</dt>' for c, f in PERSON_MARKERS.items()
}
PAGE_HIDDEN = {
    c: f"<strong>{DataCategory(c).label}</strong> : non partagé avec votre organisation"
    for c in CATEGORIES
}


def _codes(seen: Expected) -> set[str]:
    return {code for codes in seen.bases.values() for code in codes}


@dataclass
class Read:
    """One GET of one record through a door, and the one journal row it must leave."""

    request_id: str
    door: str
    object_type: str
    pk: int
    seen: Expected
    found: bool

    def expect_status(self, response) -> None:
        assert response.status_code == (200 if self.found else 404), (self, response)

    def check(self, rows: list[AccessEvent]) -> None:
        assert len(rows) == 1, (self, rows)
        (row,) = rows
        assert row.detail["door"] == self.door, (self, row.detail)
        assert (row.object_type, row.object_id) == (self.object_type, self.pk)
        if self.found:  # a read, with the categories shown, their bases and why
            assert row.operation == "read"
            assert set(row.categories) == self.seen.categories, (self, row.categories)
            assert set(row.basis.split()) == _codes(self.seen), (self, row.basis)
            assert row.purpose == purpose_of(self.seen.relations), (self, row.purpose)
        else:  # out of scope: answered as missing, the probe journaled
            assert (row.operation, row.detail["refusal"]) == ("denied", "not_found"), row
            assert row.categories == [] and row.basis == ""


@dataclass
class ListRead:
    """A list of pathways through the API: one row per group of pathways shown alike, each
    pathway in exactly one, which says what was shown of it, its bases and why."""

    request_id: str
    expected: dict[int, Expected]

    def check(self, rows: list[AccessEvent]) -> None:
        groups = {(seen.categories, purpose_of(seen.relations)) for seen in self.expected.values()}
        assert len(rows) == len(groups), (self, rows)
        assert sorted(pk for row in rows for pk in row.object_ids) == sorted(self.expected)
        for row in rows:
            assert (row.operation, row.object_type, row.detail["door"]) == (
                "list",
                "pathway",
                "api",
            )
            for pk in row.object_ids:
                seen = self.expected[pk]
                assert set(row.categories) == seen.categories, (pk, row.categories, seen)
                assert row.purpose == purpose_of(seen.relations), (pk, row.purpose, seen)
                own = row.detail.get("bases", {}).get(str(pk), row.basis)
                assert set(own.split()) == _codes(seen), (pk, own, seen)


class GateMachine(RuleBasedStateMachine):
    def __init__(self, world: World, clock):
        super().__init__()
        self.w = world
        self.clock = clock
        clock.move_to(START)
        self.model = world.oracle()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self._log_in()
        self.requests = 0
        self.last_row = _last_row()

    def _log_in(self) -> None:
        """A browser session per counsellor, opened now (a session ends after 30 idle minutes:
        after a clock move, the counsellor logs in again)."""
        for name, counsellor in self.w.counsellors.items():
            self.w.pages[name].force_login(counsellor.user)

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- what the doors, the gate and the journal say ---------------------------------------

    @property
    def now(self) -> dt.datetime:
        return timezone.now()

    def _check_gate(self) -> dict[tuple[str, str], Expected]:
        """The gate's answers, direct (no door), equal the oracle's for every organisation and
        every pathway and person. Returns the answers, by (organisation, pathway)."""
        now = self.now
        ids = {name: p.pk for name, p in self.w.pathways.items()}
        answers = {}
        for org, actor in self.w.counsellors.items():
            grants = access.grants_for(actor, ids.values())
            visible = set(access.pathways_visible_to(actor).values_list("pk", flat=True))
            persons = set(access.persons_visible_to(actor).values_list("pk", flat=True))
            for name, pk in ids.items():
                expected = self.model.expected(org, name, now)
                held = Expected(dict(grants[pk].bases), frozenset(grants[pk].relations))
                assert held == expected, (org, name, now, held, expected)
                assert (pk in visible) == bool(expected.categories), (org, name)
                answers[(org, name)] = held
            for name, person in self.w.persons.items():
                sees = "identity" in self.model.of_person(org, name, now).categories
                assert (person.pk in persons) == sees, (org, name)
        return answers

    @invariant()
    def every_door_the_gate_and_the_journal_agree(self) -> None:
        """After every step: the gate equals the oracle for every organisation and record; each
        organisation's list of pathways through the API; and, for every organisation and record
        whose answer is one the doors were not yet asked about (in this world, at this instant
        or before), the record through the API and the person's page."""
        answers = self._check_gate()
        now = self.now
        reads: list[Read] = []
        for org in ORGS:
            reads.append(self._list_pathways(org, now))
            for name, p in self.w.pathways.items():
                key = ("pathway", org, p.pk, answers[(org, name)].key)
                if key not in self.w.asked:
                    reads.append(self._get_pathway(org, name, now))
                    self.w.asked.add(key)
            for name, person in self.w.persons.items():
                answer = tuple(
                    answers[(org, pw)].key
                    for pw, m in self.model.pathways.items()
                    if m.person == name
                )
                if ("person", org, person.pk, answer) not in self.w.asked:
                    reads += self._get_person(org, name, now)
                    self.w.asked.add(("person", org, person.pk, answer))
        rows: dict[str, list[AccessEvent]] = defaultdict(list)
        for row in AccessEvent.objects.filter(id__gt=self.last_row).order_by("id"):
            rows[row.request_id].append(row)
        self.last_row = max((r.id for rs in rows.values() for r in rs), default=self.last_row)
        # Nothing else was journaled since the last step's reads (agreements, tasks and the
        # recomputes name no record read or written; services' writes were counted by `_write`).
        assert set(rows) <= {read.request_id for read in reads}, rows
        for read in reads:
            read.check(rows[read.request_id])

    def _get(self, client, url: str) -> tuple[str, object]:
        self.requests += 1
        request_id = f"prop-{self.requests}"
        return request_id, client.get(url, HTTP_X_REQUEST_ID=request_id)

    def _get_pathway(self, org: str, name: str, now) -> "Read":
        seen = self.model.expected(org, name, now)
        pk = self.w.pathways[name].pk
        request_id, response = self._get(self.w.api[org], f"/api/v1/pathways/{pk}/")
        read = Read(request_id, "api", "pathway", pk, seen, found=bool(seen.categories))
        read.expect_status(response)
        if response.status_code == 200:
            body = response.json()
            assert set(body["categories"]) == seen.categories
            for key in set(body) - {"categories"}:
                assert PATHWAY_FIELDS.get(key, "pathway") in seen.categories, (org, name, key)
            for category, marker in PATHWAY_MARKERS.items():
                assert (marker in body) == (category in seen.categories), (org, name, marker)
        return read

    def _get_person(self, org: str, name: str, now) -> list["Read"]:
        """The person through the API and through her page: the same categories (or 404)."""
        seen = self.model.of_person(org, name, now)
        pk = self.w.persons[name].pk
        found = "identity" in seen.categories  # a person is found by her identity
        api_id, api = self._get(self.w.api[org], f"/api/v1/persons/{pk}/")
        page_id, page = self._get(self.w.pages[org], f"/personnes/{pk}/")
        reads = [
            Read(api_id, "api", "person", pk, seen, found=found),
            Read(page_id, "page", "person", pk, seen, found=found),
        ]
        reads[0].expect_status(api)
        reads[1].expect_status(page)
        if found:
            body = api.json()
            html = page.content.decode()
            assert set(body["categories"]) == seen.categories
            for key in set(body) - {"categories"}:
                assert PERSON_FIELDS.get(key, "pathway") in seen.categories, (org, name, key)
            for category in CATEGORIES:
                shown = category in seen.categories
                assert (PERSON_MARKERS[category] in body) == shown, (org, name, category)
                assert (PAGE_SHOWN[category] in html) == shown, (org, name, category)
                assert (PAGE_HIDDEN[category] in html) != shown, (org, name, category)
        return reads

    def _list_pathways(self, org: str, now) -> "Read":
        expected = {
            p.pk: self.model.expected(org, name, now) for name, p in self.w.pathways.items()
        }
        expected = {pk: seen for pk, seen in expected.items() if seen.categories}
        request_id, response = self._get(self.w.api[org], "/api/v1/pathways/")
        assert response.status_code == 200
        items = response.json()["results"]
        assert sorted(sorted(item["categories"]) for item in items) == sorted(
            sorted(seen.categories) for seen in expected.values()
        ), (org, items, expected)
        for item in items:  # its id is of the pathway category, like every field
            assert ("id" in item) == ("pathway" in item["categories"]), item
            if "id" in item:
                assert set(item["categories"]) == expected[item["id"]].categories
        return ListRead(request_id, expected)

    # --- steps --------------------------------------------------------------------------------

    def _write(self, call, *, expect: str):
        """Run a service through a door; `expect` is "ok", "not_found", "not_allowed" (one
        journal row each: the write or the refusal), or an error class name (no row)."""
        outcome, result = "ok", None
        try:
            with door(Door.API):
                result = call()
        except (
            Person.DoesNotExist,
            Pathway.DoesNotExist,
            Consent.DoesNotExist,
            Referral.DoesNotExist,
        ):
            outcome = "not_found"
        except NotAllowed:
            outcome = "not_allowed"
        except (InvalidInput, Conflict, DuplicateReferral) as error:
            outcome = type(error).__name__
        assert outcome == expect, (outcome, expect)
        rows = list(AccessEvent.objects.filter(id__gt=self.last_row).order_by("id"))
        self.last_row = max((r.id for r in rows), default=self.last_row)
        if expect == "ok":
            assert [r.operation for r in rows] == ["write"], rows
        elif expect in ("not_found", "not_allowed"):
            assert [(r.operation, r.detail["refusal"]) for r in rows] == [("denied", expect)]
        else:
            assert rows == []
        return result

    @rule(
        person=st.sampled_from(["young", "rsa", "plain"]),
        collector=st.sampled_from(["holder", *ORGS]),
        named=st.sets(st.sampled_from(sorted(ORGS)), max_size=2),
        kinds=st.sets(st.sampled_from(KINDS), max_size=1),
        categories=st.sets(st.sampled_from(CATEGORIES), min_size=1, max_size=4),
        starts_in=st.sampled_from([0, 0, 1, 6, 45]),
        lasts=st.sampled_from([None, None, 0, 2, 20, 90]),
    )
    def give_consent(self, person, collector, named, kinds, categories, starts_in, lasts):
        if not named and not kinds:
            named = {"siae"}
        if collector == "holder":
            collector = next(
                p.owner for p in self.model.pathways.values() if p.person == person and p.is_open
            )
        now = self.now
        starts_on = timezone.localdate(now) + dt.timedelta(days=starts_in)
        ends_on = None if lasts is None else starts_on + dt.timedelta(days=lasts)
        sees = "identity" in self.model.of_person(collector, person, now).categories
        consent = self._write(
            lambda: consent_services.consent_record(
                actor=self.w.counsellors[collector],
                person_id=self.w.persons[person].pk,
                organisation_ids=[self.w.orgs[o].pk for o in sorted(named)],
                organisation_kinds=sorted(kinds),
                categories=sorted(categories),
                purpose="Coordination de l'accompagnement",
                evidence_kind="oral",
                starts_on=starts_on,
                ends_on=ends_on,
            ),
            expect="ok" if sees else "not_found",
        )
        if consent is not None:
            self.model.consents.append(
                MConsent(
                    consent.pk,
                    person,
                    set(named),
                    set(kinds),
                    set(categories),
                    starts_on,
                    ends_on,
                    collector,
                )
            )

    def _may_change_consent(self, org: str, consent: MConsent) -> str:
        """The gate's answer to narrowing or revoking: the person in scope (else not found),
        then the collector or the holder of one of the person's pathways (owner, référent)."""
        now = self.now
        if "identity" not in self.model.of_person(org, consent.person, now).categories:
            return "not_found"
        holds = any(
            {"owner", "referent"} & self.model.reasons(org, name, now)
            for name, p in self.model.pathways.items()
            if p.person == consent.person
        )
        if not holds and org != consent.collector:
            return "not_allowed"
        return "Conflict" if consent.revoked else "ok"

    @precondition(lambda self: self.model.consents)
    @rule(
        which=st.integers(0, 50),
        by=st.sampled_from(["collector", *ORGS]),
        keep=st.randoms(use_true_random=False),
        ends_in=st.sampled_from([None, None, 0, 3, 60]),
    )
    def narrow_consent(self, which, by, keep, ends_in):
        consent = self.model.consents[which % len(self.model.consents)]
        org = consent.collector if by == "collector" else by
        categories = set(
            keep.sample(sorted(consent.categories), keep.randint(1, len(consent.categories)))
        )
        orgs = set(keep.sample(sorted(consent.orgs), keep.randint(0, len(consent.orgs))))
        kinds = set(consent.kinds) if keep.random() < 0.7 else set()
        if not orgs and not kinds:
            orgs = set(consent.orgs) or orgs
            kinds = set(consent.kinds)
        ends_on = None
        if ends_in is not None:
            ends_on = max(
                consent.starts_on, timezone.localdate(self.now) + dt.timedelta(days=ends_in)
            )
        expect = self._may_change_consent(org, consent)
        if (
            expect == "ok"
            and ends_on is not None
            and consent.ends_on is not None
            and ends_on > consent.ends_on
        ):
            expect = "InvalidInput"  # a later end would widen it
        self._write(
            lambda: consent_services.consent_narrow(
                actor=self.w.counsellors[org],
                consent_id=consent.pk,
                categories=sorted(categories),
                organisation_ids=[self.w.orgs[o].pk for o in sorted(orgs)],
                organisation_kinds=sorted(kinds),
                ends_on=ends_on,
            ),
            expect=expect,
        )
        if expect == "ok":
            consent.categories, consent.orgs, consent.kinds = categories, orgs, kinds
            if ends_on is not None:
                consent.ends_on = ends_on

    @precondition(lambda self: self.model.consents)
    @rule(which=st.integers(0, 50), by=st.sampled_from(["collector", *ORGS]))
    def revoke_consent(self, which, by):
        consent = self.model.consents[which % len(self.model.consents)]
        org = consent.collector if by == "collector" else by
        expect = self._may_change_consent(org, consent)
        self._write(
            lambda: consent_services.consent_revoke(
                actor=self.w.counsellors[org], consent_id=consent.pk
            ),
            expect=expect,
        )
        if expect == "ok":
            consent.revoked = True

    @rule(
        parties=st.lists(st.sampled_from(sorted(ORGS)), min_size=2, max_size=2, unique=True),
        shared=st.sets(st.sampled_from(sorted(HOLDER)), min_size=1),
        starts_in=st.sampled_from([-30, 0, 0, 3, 50]),
        lasts=st.sampled_from([None, None, 10, 100]),
    )
    def propose_agreement(self, parties, shared, starts_in, lasts):
        proposer, other = parties
        starts_on = timezone.localdate(self.now) + dt.timedelta(days=starts_in)
        ends_on = None if lasts is None else starts_on + dt.timedelta(days=lasts)
        agreement = agreement_services.agreement_propose(
            actor=self.w.managers[proposer],
            party_ids=[self.w.orgs[proposer].pk, self.w.orgs[other].pk],
            name="Convention de coopération",
            level="local",
            shared_categories=sorted(shared),
            starts_on=starts_on,
            ends_on=ends_on,
        )
        self.model.agreements.append(
            MAgreement(
                agreement.pk,
                {proposer: "accepted", other: "pending"},
                set(shared),
                starts_on,
                ends_on,
            )
        )
        self._beat_after_commit()

    @precondition(lambda self: self.model.agreements)
    @rule(which=st.integers(0, 50), party=st.integers(0, 1), accept=st.booleans())
    def answer_agreement(self, which, party, accept):
        agreement = self.model.agreements[which % len(self.model.agreements)]
        org = sorted(agreement.answers)[party]
        sources = {"pending", "declined"} if accept else {"pending", "accepted"}
        service = (
            agreement_services.agreement_accept if accept else agreement_services.agreement_decline
        )
        try:
            service(actor=self.w.managers[org], agreement_id=agreement.pk)
        except Conflict:
            assert agreement.answers[org] not in sources
        else:
            assert agreement.answers[org] in sources
            agreement.answers[org] = "accepted" if accept else "declined"
        self._beat_after_commit()

    def _beat_after_commit(self) -> None:
        """What the worker does once an agreement's change commits (and beat catches up)."""
        with door(Door.TASK):
            access_recompute_owned_by()

    @rule(
        pathway=st.sampled_from(["young", "rsa", "rsa_before", "plain"]),
        sender=st.sampled_from(["holder", "holder", *ORGS]),
        receiver=st.sampled_from(sorted(ORGS)),
        shared=st.sets(st.sampled_from(["contact", "social", "health"]), max_size=2),
        send=st.booleans(),
    )
    def create_referral(self, pathway, sender, receiver, shared, send):
        now = self.now
        p = self.model.pathways[pathway]
        if sender == "holder":
            sender = p.owner
        seen = self.model.expected(sender, pathway, now)
        wanted = set(shared) | MINIMUM
        # The sender shares only what it sees and what a basis covers for the receiver.
        shareable = seen.categories & self.model.covered_for(receiver, pathway, now)
        if "pathway" not in seen.categories:
            expect = "not_found"
        elif not {"owner", "referent", "care_team"} & self.model.reasons(sender, pathway, now):
            expect = "not_allowed"
        elif not p.is_open or receiver == sender or not wanted <= shareable:
            expect = "InvalidInput"
        elif any(
            r.pathway == pathway and r.receiver == receiver and r.status in OPEN
            for r in self.model.referrals
        ):
            expect = "DuplicateReferral"
        else:
            expect = "ok"
        event(f"create_referral: {expect}")
        referral = self._write(
            lambda: referral_services.referral_create(
                actor=self.w.counsellors[sender],
                pathway_id=p.pk,
                receiver_organisation_id=self.w.orgs[receiver].pk,
                kind="simultaneous",
                reason="Accompagnement conjoint",
                shared_categories=sorted(shared),
                send=send,
            ),
            expect=expect,
        )
        if referral is not None:
            self.model.referrals.append(
                MReferral(
                    referral.pk,
                    pathway,
                    sender,
                    receiver,
                    frozenset(wanted),
                    "sent" if send else "draft",
                    now if send else None,
                )
            )

    @precondition(lambda self: any(r.status in OPEN for r in self.model.referrals))
    @rule(which=st.integers(0, 50), choice=st.integers(0, 10))
    def move_referral(self, which, choice):
        """A move the transitions table allows from the referral's state, by its party."""
        open_ = [r for r in self.model.referrals if r.status in OPEN]
        r = open_[which % len(open_)]
        moves = [
            (move, party)
            for party in (Party.SENDER, Party.RECEIVER)
            for move in actions_available(r.status, party)
            if move in MOVES
        ]
        if not moves:
            return
        move, party = moves[choice % len(moves)]
        event(f"move_referral: {r.status} {move}")
        org = r.sender if party == Party.SENDER else r.receiver
        now = self.now
        sees = "pathway" in self.model.expected(org, r.pathway, now).categories
        visible = sees and (r.status != "draft" or party == Party.SENDER)
        self._write(
            lambda: referral_services.referral_move(
                actor=self.w.counsellors[org],
                referral_id=r.pk,
                action=move,
                **MOVE_DETAILS.get(move, {}),
            ),
            expect="ok" if visible else "not_found",
        )
        if not visible:
            return
        target = {
            Move.SEND: "sent",
            Move.WITHDRAW: "withdrawn",
            Move.ACCEPT: "accepted",
            Move.REFUSE: "refused",
            Move.CLOSE: "closed",
        }[move]
        r.status = target
        if target == "sent":
            r.sent_at = now
        if target == "accepted":
            # The receiving team (issue 14): its counsellor who accepts is in charge, and the
            # receiver joins the care team unless it holds the file.
            p = self.model.pathways[r.pathway]
            if r.receiver != p.owner:
                p.care_team = p.care_team | {r.receiver}
        if target in TERMINAL_AT:
            r.ended_at = now

    @precondition(lambda self: timezone.now() - START < HORIZON)
    @rule(
        delta=st.sampled_from(
            [
                dt.timedelta(hours=5),
                dt.timedelta(days=1),
                dt.timedelta(days=4),
                dt.timedelta(days=16),
                dt.timedelta(days=31),
                dt.timedelta(days=95),
            ]
        )
    )
    def advance_clock(self, delta):
        """Time passes: bases start and end on time by their rows' intervals alone (checked
        before any task runs); then beat's periodic tasks run, as they would."""
        self.clock.move_to(self.now + delta)
        self._check_gate()
        self._log_in()
        with door(Door.TASK):
            referrals_expire_unanswered()
            access_prune_expired_grants()
            access_recompute_owned_by()
        now = self.now
        for r in self.model.referrals:
            if r.status == "sent" and r.sent_at < now - EXPIRY:  # type: ignore[operator]
                r.status, r.ended_at = "expired", now


def test_what_each_organisation_reads_is_what_the_gate_answers_and_the_journal_says():
    with time_machine.travel(START, tick=False) as clock:
        world = World.build()
        run_state_machine_as_test(
            lambda: GateMachine(world, clock),
            settings=settings(
                # A longer hunt: PARCOURS_STATEFUL_EXAMPLES=300 PARCOURS_STATEFUL_STEPS=25
                # (and a random seed: PARCOURS_STATEFUL_RANDOM=1).
                max_examples=int(os.environ.get("PARCOURS_STATEFUL_EXAMPLES", "20")),
                stateful_step_count=int(os.environ.get("PARCOURS_STATEFUL_STEPS", "12")),
                deadline=None,
                derandomize=not os.environ.get("PARCOURS_STATEFUL_RANDOM"),
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
