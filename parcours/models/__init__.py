"""Domain models, one module per concept. Writes go through `parcours.services`."""

from .access_request import AccessRequest, AccessRequestStatus
from .action_plan import (
    OBJECTIVE_MOVES,
    OPEN_PLAN_ACTION_STATUSES,
    PLAN_ACTION_MOVES,
    Objective,
    ObjectiveStatus,
    PlanAction,
    PlanActionStatus,
)
from .agreement import (
    AGREEMENT_PARTY_MOVES,
    MAX_ANNEXED_INDICATORS,
    REPORTING_PERIOD_MONTHS,
    Agreement,
    AgreementAction,
    AgreementIndicator,
    AgreementLevel,
    AgreementParty,
    AgreementPartyStatus,
    EscalationAudience,
    EscalationRung,
    ReportingPeriod,
)
from .api_token import ApiToken, ApiTokenRevocation, ApiTokenStatus
from .appointment import Appointment, AppointmentChannel, AppointmentOutcome
from .break_glass import BreakGlass
from .care_team import CareTeamMember
from .committee import (
    Committee,
    CommitteeFollowUp,
    CommitteeProposal,
    CommitteeStatus,
    DecisionOutcome,
    ProposalBasis,
    ProposalStatus,
)
from .consent import Consent, EvidenceKind, Objection
from .diagnostic import DiagnosticEntry
from .event import EventKind, PathwayEvent
from .grant import PathwayGroupObjectPermission, PathwayUserObjectPermission, PendingRecompute
from .journal import (
    PERSON_OPERATION_CHOICES,
    SECURITY_OPERATIONS,
    TOKEN_OPERATIONS,
    AccessEvent,
    AccessOperation,
    JournalCheckpoint,
    JournalVerification,
)
from .key_canary import KeyCanary
from .membership import CASEWORK_ROLES, DPO_ROLES, Membership, Role
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
from .person_space import PersonSignInCode
from .receiver_link import ReceiverLink, ReceiverLinkState
from .referral import (
    ASSIGNABLE_STATUSES,
    OPEN_REFERRAL_STATUSES,
    Referral,
    ReferralKind,
    ReferralOutcome,
    ReferralStatus,
    RefusalReason,
)
from .referral_figure import ReferralFigureRefresh, ReferralMonthlyFigure
from .referral_message import MESSAGE_MAX_LENGTH, ReferralMessage, ReferralMessageRead
from .retention import RetentionRule
from .rights_request import (
    RIGHTS_REQUEST_DECISIONS,
    RIGHTS_REQUEST_MOVES,
    RightsRequest,
    RightsRequestChannel,
    RightsRequestKind,
    RightsRequestStatus,
)
from .sign_in import ProConnectIdentity, SignInRefusal, SignInRequest
from .territory import EmploymentArea
from .webhook import (
    IdempotencyKey,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)

__all__ = [
    "AGREEMENT_PARTY_MOVES",
    "ASSIGNABLE_STATUSES",
    "CASEWORK_ROLES",
    "DPO_ROLES",
    "MAX_ANNEXED_INDICATORS",
    "MESSAGE_MAX_LENGTH",
    "OBJECTIVE_MOVES",
    "OPEN_PLAN_ACTION_STATUSES",
    "OPEN_REFERRAL_STATUSES",
    "PERSON_OPERATION_CHOICES",
    "PLAN_ACTION_MOVES",
    "REPORTING_PERIOD_MONTHS",
    "RIGHTS_REQUEST_DECISIONS",
    "RIGHTS_REQUEST_MOVES",
    "SECURITY_OPERATIONS",
    "TOKEN_OPERATIONS",
    "AccessEvent",
    "AccessOperation",
    "AccessRequest",
    "AccessRequestStatus",
    "Agreement",
    "AgreementAction",
    "AgreementIndicator",
    "AgreementLevel",
    "AgreementParty",
    "AgreementPartyStatus",
    "ApiToken",
    "ApiTokenRevocation",
    "ApiTokenStatus",
    "Appointment",
    "AppointmentChannel",
    "AppointmentOutcome",
    "Barrier",
    "BarrierKind",
    "BarrierStatus",
    "BreakGlass",
    "CareTeamMember",
    "Committee",
    "CommitteeFollowUp",
    "CommitteeProposal",
    "CommitteeStatus",
    "Consent",
    "DecisionOutcome",
    "DiagnosticEntry",
    "EmploymentArea",
    "EscalationAudience",
    "EscalationRung",
    "EventKind",
    "EvidenceKind",
    "IdempotencyKey",
    "JournalCheckpoint",
    "JournalVerification",
    "KeyCanary",
    "Membership",
    "ModalityPeriod",
    "Objection",
    "Objective",
    "ObjectiveStatus",
    "Organisation",
    "OrganisationKind",
    "Pathway",
    "PathwayEvent",
    "PathwayGroupObjectPermission",
    "PathwayOutcome",
    "PathwayStatus",
    "PathwayUserObjectPermission",
    "PendingRecompute",
    "Person",
    "PersonSignInCode",
    "PlanAction",
    "PlanActionStatus",
    "ProConnectIdentity",
    "ProposalBasis",
    "ProposalStatus",
    "ReceiverLink",
    "ReceiverLinkState",
    "Referral",
    "ReferralFigureRefresh",
    "ReferralKind",
    "ReferralMessage",
    "ReferralMessageRead",
    "ReferralMonthlyFigure",
    "ReferralOutcome",
    "ReferralStatus",
    "RefusalReason",
    "ReportingPeriod",
    "RetentionRule",
    "RightsRequest",
    "RightsRequestChannel",
    "RightsRequestKind",
    "RightsRequestStatus",
    "Role",
    "Service",
    "SiaeKind",
    "SignInRefusal",
    "SignInRequest",
    "SupportModality",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
    "WebhookSubscription",
]
