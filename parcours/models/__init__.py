"""Domain models, one module per concept. Writes go through `parcours.services`."""

from .agreement import Agreement, AgreementLevel
from .appointment import Appointment, AppointmentChannel, AppointmentOutcome
from .event import EventKind, PathwayEvent
from .membership import CASEWORK_ROLES, Membership, Role
from .organisation import Organisation, OrganisationKind, Service, SiaeKind
from .pathway import (
    Barrier,
    BarrierKind,
    BarrierStatus,
    ModalityPeriod,
    Pathway,
    PathwayOutcome,
    PathwayStatus,
    SupportModality,
)
from .person import Person
from .referral import (
    OPEN_REFERRAL_STATUSES,
    Referral,
    ReferralKind,
    ReferralOutcome,
    ReferralStatus,
    RefusalReason,
)
from .territory import EmploymentArea

__all__ = [
    "CASEWORK_ROLES",
    "OPEN_REFERRAL_STATUSES",
    "Agreement",
    "AgreementLevel",
    "Appointment",
    "AppointmentChannel",
    "AppointmentOutcome",
    "Barrier",
    "BarrierKind",
    "BarrierStatus",
    "EmploymentArea",
    "EventKind",
    "Membership",
    "ModalityPeriod",
    "Organisation",
    "OrganisationKind",
    "Pathway",
    "PathwayEvent",
    "PathwayOutcome",
    "PathwayStatus",
    "Person",
    "Referral",
    "ReferralKind",
    "ReferralOutcome",
    "ReferralStatus",
    "RefusalReason",
    "Role",
    "Service",
    "SiaeKind",
    "SupportModality",
]
