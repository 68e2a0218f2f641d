"""The permission matrix of the Django admin (issue 12): every URL of every model registered in
`admin.site` (changelist, add, change, delete, history, a past version, a user's password),
enumerated from the registry — a model registered without its row here fails
`test_every_registered_model_is_in_the_matrix` — is visited by

* a superuser (the territorial administrator): every page;
* an organisation's administrator (staff, membership role `admin`, with the model permissions
  below): their own organisation's objects; another organisation's object answers as the admin
  answers a missing one (a redirect to the admin's index, "… n'existe pas"), on the change,
  delete and history pages as well; the shared reference data (areas, retention durations) to
  read only; the site-wide models (users, groups, API tokens, site settings, the outbox) not at
  all (403);
* a counsellor, a DPO (members, not staff) and the anonymous visitor: the admin's login page;

and refused writes leave the data unchanged. People's records are not in the admin at all.
Agreements are saved through their services in the admin (test_admin_agreements.py).
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from dsfr.models import DsfrConfig

from notifications.models import OutboxMessage
from parcours.gate.journal import OBJECT_TYPES
from parcours.models import (
    AccessEvent,
    Agreement,
    EmploymentArea,
    Membership,
    Organisation,
    RetentionRule,
    RightsRequest,
    Role,
)
from tests.factories import AgreementFactory, MembershipFactory, OrganisationFactory, UserFactory
from tests.worlds import built_once

pytestmark = [
    pytest.mark.django_db,
    # django-dsfr's settings form has URL fields built the Django 5 way (not ours to change).
    pytest.mark.filterwarnings("ignore:The default scheme will be changed:DeprecationWarning"),
]

ALL = ("view", "add", "change", "delete")
# What an organisation's administrator is given (docs/domain.md: organisations and their
# services, memberships, agreements; the areas and the retention durations to read).
ORG_ADMIN_PERMISSIONS = {
    "organisation": ALL,
    "service": ALL,
    "membership": ALL,
    "agreement": ("view", "add", "change"),
    "employmentarea": ("view",),
    "retentionrule": ("view",),
}
LOGIN = "/admin/login/?next="
INDEX = "/admin/"


class World:
    def __init__(self):
        self.mine = OrganisationFactory(name="PLIE de Lens")
        self.other = OrganisationFactory(name="CCAS d'Arras")
        self.superuser = UserFactory(is_staff=True, is_superuser=True)
        self.org_admin = UserFactory(is_staff=True)
        MembershipFactory(user=self.org_admin, organisation=self.mine, role=Role.ADMIN)
        self.org_admin.user_permissions.add(
            *(
                Permission.objects.get(
                    content_type__app_label="parcours", codename=f"{action}_{model}"
                )
                for model, actions in ORG_ADMIN_PERMISSIONS.items()
                for action in actions
            )
        )
        self.colleague = MembershipFactory(organisation=self.mine)
        self.outsider = MembershipFactory(organisation=self.other)
        self.counsellor = self.colleague.user
        self.dpo = MembershipFactory(organisation=self.mine, role=Role.DPO).user
        self.anonymous = None
        self.agreement = AgreementFactory(name="Convention PLIE", parties=[self.mine, self.other])
        self.foreign_agreement = AgreementFactory(
            name="Convention sans nous", parties=[self.other, OrganisationFactory()]
        )
        self.rule, _ = RetentionRule.objects.update_or_create(
            category="pathway", defaults={"active_months": 24, "archived_months": 36}
        )
        self.dsfr, _ = DsfrConfig.objects.get_or_create(language="fr")
        now = timezone.now()
        self.attempt = AccessAttempt.objects.create(
            username=self.counsellor.username,
            ip_address="203.0.113.7",
            user_agent="navigateur",
            get_data="",
            post_data="",
            http_accept="text/html",
            path_info="/connexion/",
            failures_since_start=2,
            attempt_time=now,
        )
        self.totp = TOTPDevice.objects.create(user=self.counsellor, name="Application")
        self.recovery = StaticDevice.objects.create(user=self.counsellor, name="Codes de secours")
        self.outbox = OutboxMessage.objects.create(
            kind=OutboxMessage._meta.get_field("kind").choices[0][0],
            to_email="conseiller@partenaire.test",
            next_attempt_at=now,
            created_at=now,
        )


@pytest.fixture(scope="module")
def world_template(django_db_setup, django_db_blocker):
    """Built once for the module, each test on a copy (tests/worlds.py)."""
    with built_once(django_db_blocker):
        yield World()


@pytest.fixture
def world(world_template, db):
    return copy.deepcopy(world_template)


# --- the models ------------------------------------------------------------------------------

SCOPED = "scoped"  # the organisation's administrator: their organisations' objects
READ_ONLY = "read-only"  # shared reference data: read, never written, by an organisation's
SUPERUSER = "superuser"  # site-wide: superusers only


@dataclass(frozen=True)
class ModelRow:
    reach: str
    own: Callable[[World], int]  # an object the organisation's administrator may reach
    other: Callable[[World], int] | None = None  # one of another organisation
    # What the admin refuses even to a superuser (agreements and durations are never deleted,
    # the outbox is written by the application only).
    no_add: bool = False
    no_delete: bool = False
    # Other pages refused to everyone (the authenticator app's secret, hidden).
    refused_pages: tuple[str, ...] = ()


MODELS: dict[str, ModelRow] = {
    "parcours.organisation": ModelRow(SCOPED, lambda w: w.mine.pk, lambda w: w.other.pk),
    "parcours.membership": ModelRow(SCOPED, lambda w: w.colleague.pk, lambda w: w.outsider.pk),
    "parcours.agreement": ModelRow(
        SCOPED, lambda w: w.agreement.pk, lambda w: w.foreign_agreement.pk, no_delete=True
    ),
    "parcours.employmentarea": ModelRow(READ_ONLY, lambda w: w.mine.employment_area_id),
    "parcours.retentionrule": ModelRow(READ_ONLY, lambda w: w.rule.pk, no_delete=True),
    "auth.user": ModelRow(SUPERUSER, lambda w: w.counsellor.pk, lambda w: w.outsider.user_id),
    "auth.group": ModelRow(SUPERUSER, lambda w: w.mine.group_id, lambda w: w.other.group_id),
    "dsfr.dsfrconfig": ModelRow(SUPERUSER, lambda w: w.dsfr.pk),
    "notifications.outboxmessage": ModelRow(
        SUPERUSER, lambda w: w.outbox.pk, no_add=True, no_delete=True
    ),
    # Sign-in (issue 15): a locked-out username's count (deleted to unlock it), an account's
    # authenticator app (deleted when a phone is lost) and its recovery codes.
    "axes.accessattempt": ModelRow(SUPERUSER, lambda w: w.attempt.pk, no_add=True),
    # The secret never shows again once set up (OTP_ADMIN_HIDE_SENSITIVE_DATA): no QR code,
    # no configuration page.
    "otp_totp.totpdevice": ModelRow(
        SUPERUSER, lambda w: w.totp.pk, refused_pages=("config", "qrcode")
    ),
    "otp_static.staticdevice": ModelRow(SUPERUSER, lambda w: w.recovery.pk),
}
PEOPLES_RECORDS = {*OBJECT_TYPES, AccessEvent, RightsRequest}


def _label(model) -> str:
    return model._meta.label_lower


def _urls(model_admin) -> list[tuple[str, str]]:
    """(kind, URL name) of every named URL of a registered model."""
    opts = model_admin.model._meta
    prefix = f"{opts.app_label}_{opts.model_name}_"
    return [(p.name.removeprefix(prefix), p.name) for p in model_admin.get_urls() if p.name]


def _path(world: World, model, kind: str, name: str, target: str) -> str:
    row = MODELS[_label(model)]
    pk_of = row.own if target == "own" else row.other
    if kind in ("changelist", "add"):
        return reverse(f"admin:{name}")
    assert pk_of is not None
    pk = pk_of(world)
    if kind == "simple_history":
        version = _version(model, pk)
        return reverse(f"admin:{name}", args=[pk, version])
    return reverse(f"admin:{name}", args=[pk])


def expected(world: World, who: str, model, kind: str, target: str) -> tuple[int, str | None]:
    """The admin's answer: (status, start of the redirect)."""
    if who in ("anonymous", "counsellor", "dpo"):
        return 302, LOGIN  # the admin is for staff: its own login page
    row = MODELS[_label(model)]
    refused = (
        (kind == "add" and row.no_add)
        or (kind == "delete" and row.no_delete)
        or kind in row.refused_pages
    )
    if who == "superuser":
        return (403, None) if refused else (200, None)
    # an organisation's administrator
    if row.reach == SUPERUSER or refused:
        return 403, None
    if row.reach == READ_ONLY:
        return (403, None) if kind in ("add", "delete") else (200, None)
    if target == "other" and kind not in ("changelist", "add"):
        return 302, INDEX  # as the admin answers for a missing object
    return 200, None


def _client(world: World, who: str) -> Client:
    client = Client()
    user = getattr(world, who)
    if user is not None:
        client.force_login(user)
    return client


def _cases():
    for model, model_admin in admin.site._registry.items():
        for kind, name in _urls(model_admin):
            row = MODELS.get(_label(model))
            for target in ("own", "other"):
                if target == "other" and (kind in ("changelist", "add") or not (row and row.other)):
                    continue
                for who in ("superuser", "org_admin", "counsellor", "dpo", "anonymous"):
                    yield pytest.param(model, kind, name, target, who, id=f"{name}-{target}-{who}")


# --- the tests ---------------------------------------------------------------------------------


def test_every_registered_model_is_in_the_matrix():
    registered = {_label(model) for model in admin.site._registry}
    assert registered == set(MODELS)


def test_peoples_records_are_not_in_the_admin(world):
    assert not PEOPLES_RECORDS & set(admin.site._registry)
    client = _client(world, "superuser")
    for model in PEOPLES_RECORDS:
        opts = model._meta
        response = client.get(f"/admin/{opts.app_label}/{opts.model_name}/")
        assert response.status_code == 404, opts.label


@pytest.mark.parametrize(("model", "kind", "name", "target", "who"), list(_cases()))
def test_admin_page(model, kind, name, target, who, world):
    path = _path(world, model, kind, name, target)
    response = _client(world, who).get(path)
    status, location = expected(world, who, model, kind, target)
    assert response.status_code == status, (path, response.status_code)
    if location is not None:
        assert response.url.startswith(location), response.url


def test_an_organisation_administrator_is_offered_what_they_may_use(world):
    """The index lists their models, never the site-wide ones (lists are scoped:
    test_admin_scoping.py)."""
    index = _client(world, "org_admin").get(INDEX).content.decode()
    for model in ("organisation", "membership", "agreement", "employmentarea", "retentionrule"):
        assert f"/admin/parcours/{model}/" in index
    for site_wide in ("/admin/auth/", "/admin/dsfr/", "/admin/notifications/"):
        assert site_wide not in index


def test_another_organisations_object_is_answered_as_missing(world):
    response = _client(world, "org_admin").get(
        reverse("admin:parcours_organisation_history", args=[world.other.pk]), follow=True
    )
    assert "n’existe pas" in response.content.decode()
    assert "CCAS d&#x27;Arras" not in response.content.decode()


# --- writes ------------------------------------------------------------------------------------


def _state() -> dict:
    return {
        "organisations": list(Organisation.objects.order_by("pk").values()),
        "memberships": list(Membership.objects.order_by("pk").values()),
        "agreements": list(Agreement.objects.order_by("pk").values()),
        "rules": list(RetentionRule.objects.order_by("pk").values()),
        "areas": list(EmploymentArea.objects.order_by("pk").values()),
        "groups": list(Group.objects.order_by("pk").values()),
    }


def _organisation_form(organisation: Organisation, **changes) -> dict:
    data = {
        "name": organisation.name,
        "kind": organisation.kind,
        "siae_kind": organisation.siae_kind,
        "siret": organisation.siret,
        "departement": organisation.departement,
        "employment_area": organisation.employment_area_id,
        "address": organisation.address,
        "contact_email": organisation.contact_email,
        "acknowledge_within_working_days": organisation.acknowledge_within_working_days,
        "first_appointment_within_days": organisation.first_appointment_within_days,
        "services-TOTAL_FORMS": 0,
        "services-INITIAL_FORMS": 0,
        "services-MIN_NUM_FORMS": 0,
        "services-MAX_NUM_FORMS": 1000,
    }
    return {k: "" if v is None else v for k, v in {**data, **changes}.items()}


def _membership_form(user, organisation, role=Role.ADMIN) -> dict:
    return {"user": user.pk, "organisation": organisation.pk, "role": role, "is_active": "on"}


def _version(model, pk) -> int:
    """The first version of an object (its history's records name it by its own key)."""
    return model.history.filter(**{model._meta.pk.attname: pk}).earliest("history_id").history_id


@dataclass(frozen=True)
class Write:
    who: str
    path: Callable[[World], str]
    data: Callable[[World], dict]
    status: int
    location: str | None = None
    says: str | None = None
    done: Callable[[World], bool] | None = None  # an allowed write: made


ALLOWED_WRITES = {
    "an administrator renames their organisation": Write(
        "org_admin",
        lambda w: reverse("admin:parcours_organisation_change", args=[w.mine.pk]),
        lambda w: _organisation_form(w.mine, name="PLIE de Lens-Liévin"),
        302,
        "/admin/parcours/organisation/",
        done=lambda w: Organisation.objects.get(pk=w.mine.pk).name == "PLIE de Lens-Liévin",
    ),
    "an administrator adds a member to their organisation": Write(
        "org_admin",
        lambda w: reverse("admin:parcours_membership_add"),
        lambda w: _membership_form(w.outsider.user, w.mine, Role.COUNSELLOR),
        302,
        "/admin/parcours/membership/",
        done=lambda w: Membership.objects.filter(
            user=w.outsider.user, organisation=w.mine
        ).exists(),
    ),
    "a superuser reverts a retention duration": Write(
        "superuser",
        lambda w: reverse(
            "admin:parcours_retentionrule_simple_history",
            args=[w.rule.pk, _version(RetentionRule, w.rule.pk)],
        ),
        lambda w: {
            "category": w.rule.category,
            "active_months": w.rule.active_months + 1,
            "archived_months": w.rule.archived_months,
            "reference": "Délibération CNIL",
        },
        302,
        done=lambda w: RetentionRule.objects.get(pk=w.rule.pk).reference == "Délibération CNIL",
    ),
}

REFUSED_WRITES = {
    "an administrator renames another organisation": Write(
        "org_admin",
        lambda w: reverse("admin:parcours_organisation_change", args=[w.other.pk]),
        lambda w: _organisation_form(w.other, name="Repris"),
        302,
        INDEX,
    ),
    "an administrator makes themselves administrator of another organisation": Write(
        "org_admin",
        lambda w: reverse("admin:parcours_membership_add"),
        lambda w: _membership_form(w.org_admin, w.other),
        200,
        says="Sélectionnez un choix valide",
    ),
    "an administrator moves a member of theirs to another organisation": Write(
        "org_admin",
        lambda w: reverse("admin:parcours_membership_change", args=[w.colleague.pk]),
        lambda w: _membership_form(w.counsellor, w.other, Role.COUNSELLOR),
        200,
        says="Sélectionnez un choix valide",
    ),
    "an administrator reverts another organisation's membership": Write(
        "org_admin",
        lambda w: reverse(
            "admin:parcours_membership_simple_history",
            args=[w.outsider.pk, _version(Membership, w.outsider.pk)],
        ),
        lambda w: _membership_form(w.org_admin, w.other),
        302,
        INDEX,
    ),
    "an administrator reverts another organisation": Write(
        "org_admin",
        lambda w: reverse(
            "admin:parcours_organisation_simple_history",
            args=[w.other.pk, _version(Organisation, w.other.pk)],
        ),
        lambda w: _organisation_form(w.other, name="Repris"),
        302,
        INDEX,
    ),
    "an administrator deletes another organisation's membership": Write(
        "org_admin",
        lambda w: reverse("admin:parcours_membership_delete", args=[w.outsider.pk]),
        lambda w: {"post": "yes"},
        302,
        INDEX,
    ),
    "an administrator changes a retention duration through its past version": Write(
        "org_admin",
        lambda w: reverse(
            "admin:parcours_retentionrule_simple_history",
            args=[w.rule.pk, _version(RetentionRule, w.rule.pk)],
        ),
        lambda w: {
            "category": w.rule.category,
            "active_months": 1,
            "archived_months": 1,
            "reference": "",
        },
        403,
    ),
    "an administrator changes an area": Write(
        "org_admin",
        lambda w: reverse("admin:parcours_employmentarea_change", args=[w.mine.employment_area_id]),
        lambda w: {"code": "X", "name": "Renommé", "departement": "62"},
        403,
    ),
    "an administrator makes themselves a superuser": Write(
        "org_admin",
        lambda w: reverse("admin:auth_user_change", args=[w.org_admin.pk]),
        lambda w: {"username": w.org_admin.username, "is_superuser": "on", "is_staff": "on"},
        403,
    ),
    "a counsellor renames their organisation": Write(
        "counsellor",
        lambda w: reverse("admin:parcours_organisation_change", args=[w.mine.pk]),
        lambda w: _organisation_form(w.mine, name="Repris"),
        302,
        LOGIN,
    ),
    "the anonymous visitor adds a membership": Write(
        "anonymous",
        lambda w: reverse("admin:parcours_membership_add"),
        lambda w: _membership_form(w.counsellor, w.mine),
        302,
        LOGIN,
    ),
}


def _post(world: World, write: Write):
    return _client(world, write.who).post(write.path(world), write.data(world))


@pytest.mark.parametrize("name", list(ALLOWED_WRITES))
def test_allowed_write(name, world):
    write = ALLOWED_WRITES[name]
    response = _post(world, write)
    assert response.status_code == write.status, response.content.decode()[:3000]
    if write.location:
        assert response.url.startswith(write.location)
    assert write.done is not None and write.done(world)


@pytest.mark.parametrize("name", list(REFUSED_WRITES))
def test_refused_write_changes_nothing(name, world):
    write = REFUSED_WRITES[name]
    before = _state()
    response = _post(world, write)
    assert response.status_code == write.status
    if write.location:
        assert response.url.startswith(write.location), response.url
    if write.says:
        assert write.says in response.content.decode()
    assert _state() == before
    assert not Membership.objects.filter(user=world.org_admin, organisation=world.other).exists()
    assert not type(world.org_admin).objects.get(pk=world.org_admin.pk).is_superuser
