"""Bulk copies of factory-built rows, for the tests that need hundreds of them (the counters of
« À traiter » at 10, 50 and 500 items): a factory builds one coherent row — its grants computed
by `access_recompute`, its timeline written — and these copy it in a handful of INSERTs.

Each copy gets its own person (and pathway), with the template pathway's grant rows: the same
organisations see it for the same categories and relations. A referral's copy has its own
`referral:<id>` basis and its own timeline events; the consents the template's basis names are
not copied (the copies' grants name the template's), which no count depends on. No history rows
are written (bulk inserts bypass simple-history): set-up data, as the factories are.
"""

from collections.abc import Sequence

from django.db import models

from notifications.models import Alert
from parcours.models import (
    Appointment,
    Pathway,
    PathwayEvent,
    PathwayGroupObjectPermission,
    PathwayUserObjectPermission,
    Person,
    PlanAction,
    Referral,
)

BATCH = 1000


def _copy(instance: models.Model, **changes) -> models.Model:
    """An unsaved copy of `instance`: every concrete column but the primary key (by attname:
    pass `pathway_id=…`, never `pathway=…`)."""
    model = type(instance)
    values = {
        f.attname: getattr(instance, f.attname)
        for f in model._meta.concrete_fields
        if not f.primary_key
    }
    values.update(changes)
    return model(**values)


def _people(template: Person, n: int, offset: int) -> list[Person]:
    people = []
    for i in range(n):
        person = _copy(
            template,
            first_name=f"{template.first_name}{offset + i}",
            nir="",
            france_travail_id="",
        )
        person.refresh_search_keys()  # save() would: bulk inserts do not call it
        people.append(person)
    return Person.objects.bulk_create(people, batch_size=BATCH)


def _grants(template: Pathway, pathways: Sequence[Pathway], basis: dict[int, str]) -> None:
    """The template pathway's grant rows for each copy; `basis`: copy id → its referral's
    basis code, replacing the template referral's."""
    for model in (PathwayGroupObjectPermission, PathwayUserObjectPermission):
        rows = list(model.objects.filter(content_object=template))
        copies = []
        for pathway in pathways:
            for row in rows:
                code = row.basis
                if pathway.pk in basis:
                    code = code.replace(*basis[pathway.pk].split("|"))
                copies.append(_copy(row, content_object_id=pathway.pk, basis=code))
        model.objects.bulk_create(copies, batch_size=BATCH)


_counter = {"n": 0}


def _offset(n: int) -> int:
    _counter["n"] += n
    return _counter["n"]


def clone_pathways(template: Pathway, n: int) -> list[Pathway]:
    """`n` pathways like `template` (owner, référent, state), each of a new person."""
    people = _people(template.person, n, _offset(n))
    pathways = Pathway.objects.bulk_create(
        [_copy(template, person_id=person.pk) for person in people], batch_size=BATCH
    )
    _grants(template, pathways, basis={})
    return pathways


def clone_referrals(template: Referral, n: int) -> list[Referral]:
    """`n` referrals like `template` (organisations, sender, state and its dates), each on a
    new person's pathway like the template's, with its own timeline events and grants."""
    source = template.pathway
    people = _people(source.person, n, _offset(n))
    pathways = Pathway.objects.bulk_create(
        [_copy(source, person_id=person.pk) for person in people], batch_size=BATCH
    )
    referrals = Referral.objects.bulk_create(
        [_copy(template, pathway_id=pathway.pk) for pathway in pathways], batch_size=BATCH
    )
    events = list(PathwayEvent.objects.filter(referral=template))
    PathwayEvent.objects.bulk_create(
        [
            _copy(event, pathway_id=referral.pathway_id, referral_id=referral.pk)
            for referral in referrals
            for event in events
        ],
        batch_size=BATCH,
    )
    old = f"referral:{template.pk}"
    _grants(
        source,
        pathways,
        basis={r.pathway_id: f"{old}|referral:{r.pk}" for r in referrals},
    )
    return referrals


def clone_appointments(template: Appointment, referrals: Sequence[Referral]) -> None:
    Appointment.objects.bulk_create(
        [_copy(template, referral_id=referral.pk) for referral in referrals], batch_size=BATCH
    )


def clone_alerts(template: Alert, referrals: Sequence[Referral]) -> None:
    Alert.objects.bulk_create(
        [_copy(template, referral_id=referral.pk) for referral in referrals], batch_size=BATCH
    )


def clone_plan_actions(template: PlanAction, n: int) -> None:
    """`n` actions like `template`, in the same objective (a plan holds any number)."""
    PlanAction.objects.bulk_create(
        [_copy(template, label=f"{template.label} {i}") for i in range(n)], batch_size=BATCH
    )
