"""The gate's table — who may do what, as data: role × relation to the record × action × data
category (ADR 0010).

This is the one table the services, the doors' buttons and the tests read (like
`transitions.MOVES` for referral moves). A service asks `gate.require(actor, Action.X, …)`; a page
asks `gate.actions_for(…)` which buttons to show; the tests enumerate `RULES` (every allowed
combination succeeds, every other one is refused). Nothing outside this table and
`parcours/gate/` compares a role: a new rule is a new row here. It sits below the gate and
`parcours/access.py`, which both read it (docs/access-control.md).

Reading a category is not decided here record by record: it needs a relationship *and* a basis,
materialised as grant rows (`services/access_grants.py`) and read by `parcours.access`; the
role's share of it is `ROLE_CATEGORIES` below.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .categories import ALL_CATEGORIES, DataCategory
from .models.membership import Role
from .transitions import ACTION_PARTY, Party
from .transitions import Action as Move

C, SW, M = Role.COUNSELLOR, Role.SOCIAL_WORKER, Role.MANAGER
COORD = Role.COORDINATOR
COORDS = frozenset({COORD})
CASEWORKERS = frozenset({C, SW})
CASEWORK_AND_MANAGERS = frozenset({C, SW, M})
DPOS = frozenset({Role.DPO, Role.NATIONAL_DPO})
AGREEMENT_SIGNATORIES = frozenset({M, Role.ADMIN})
# Members with these roles (and staff of the admin) must sign in with a second factor: they read
# who did what across an organisation or administer its accounts (docs/security.md).
SECOND_FACTOR_ROLES = DPOS | {Role.ADMIN}
# A receiver's link (models/receiver_link.py): the receiving organisation acting without an
# account, on one referral. Never a membership's role; only the rows below that name it.
LINK = "receiver_link"
LINKS = frozenset({LINK})

# What each role may see of a record it has a relationship and a basis for.
ROLE_CATEGORIES: dict[str, frozenset[str]] = {
    C: ALL_CATEGORIES,
    SW: ALL_CATEGORIES,
    M: frozenset({DataCategory.PATHWAY}),  # managers steer activity, they do not read files
    Role.DPO: frozenset(),  # DPOs read who did what (the journal), never content
    Role.NATIONAL_DPO: frozenset(),
    Role.ADMIN: frozenset(),
    # The territorial coordinator steers the areas' partnership from aggregates: no record
    # content, whatever their organisation holds (a basis of their own would need a case role).
    COORD: frozenset(),
    # What the receiver's bases give it of its one referral's pathway (the organisation's
    # grants, narrowed to that pathway by parcours/access.py): what was shared with the receiver.
    LINK: ALL_CATEGORIES,
}


class Relation(StrEnum):
    """How the acting organisation stands to a record (parcours/gate/relations.py)."""

    OWNER = "owner"  # holds the pathway
    REFERENT = "referent"  # employs the pathway's référent
    CARE_TEAM = "care_team"  # an active member of the care team (équipe de suivi)
    SENDER = "sender"  # sent a referral of the pathway (or of this referral)
    RECEIVER = "receiver"  # received a referral of the pathway (or this referral)
    COLLECTOR = "collector"  # collected this consent
    BREAK_GLASS = "break_glass"  # a member opened an exceptional access (a user's grant)
    PARTY = "party"  # signatory of this agreement
    ACTION_OWNER = "action_owner"  # holds this action of the plan (it reports on it)
    # The case committee (CLCVP, parcours/models/committee.py).
    AREA_COORDINATOR = "area_coordinator"  # coordinates the committee's employment area
    ATTENDEE = "attendee"  # invited to the committee session
    PROPOSER = "proposer"  # put this case forward to the committee


LEADS = frozenset({Relation.OWNER, Relation.REFERENT})
FOLLOWERS = LEADS | {Relation.CARE_TEAM}
ANY_RELATION = FOLLOWERS | {Relation.SENDER, Relation.RECEIVER}

# The purpose (finalité) journaled with an access, from the strongest relation the acting
# organisation has with the record: the DPO reads why an organisation looked, not just that it did.
PURPOSES: dict[Relation, str] = {
    Relation.OWNER: "Accompagnement de la personne (organisation qui porte le parcours)",
    Relation.REFERENT: "Accompagnement de la personne (organisation du référent)",
    Relation.CARE_TEAM: "Suivi partagé (équipe de suivi)",
    Relation.RECEIVER: "Traitement d'une orientation reçue",
    Relation.SENDER: "Suivi d'une orientation envoyée",
    Relation.BREAK_GLASS: "Accès exceptionnel motivé",
}
# Every read of a case put to the committee, by whoever reads it (docs/access-control.md); the
# refusals of the committee's actions journal it too (the relation the organisation had).
COMMITTEE_PURPOSE = "Examen en comité de parcours"
PURPOSES |= dict.fromkeys(
    (Relation.AREA_COORDINATOR, Relation.PROPOSER, Relation.ATTENDEE), COMMITTEE_PURPOSE
)
PURPOSE_ORDER: tuple[Relation, ...] = tuple(PURPOSES)


def purpose_of(relations) -> str:
    for relation in PURPOSE_ORDER:
        if relation in relations:
            return PURPOSES[relation]
    return ""


class Action(StrEnum):
    # Reads (journaled under these names, whichever door was used).
    PERSON_READ = "person.read"
    PERSON_LIST = "person.list"
    PATHWAY_READ = "pathway.read"
    PATHWAY_LIST = "pathway.list"
    TIMELINE_READ = "pathway.timeline"
    REFERRAL_READ = "referral.read"
    REFERRAL_LIST = "referral.list"
    APPOINTMENT_READ = "appointment.read"
    APPOINTMENT_LIST = "appointment.list"
    CONSENT_READ = "consent.read"
    CONSENT_LIST = "consent.list"
    CONSENT_EVIDENCE_READ = "consent.evidence_read"  # its evidence file (parcours/evidence.py)
    OBJECTION_READ = "objection.read"
    OBJECTION_LIST = "objection.list"
    CARE_TEAM_READ = "care_team.read"
    CARE_TEAM_LIST = "care_team.list"
    BREAK_GLASS_LIST = "break_glass.list"  # the organisation's own exceptional accesses
    ACCESS_REQUEST_LIST = "access_request.list"  # made by, or made to, the organisation
    DIAGNOSTIC_READ = "diagnostic.read"  # the shared diagnostic: its domains in the categories seen
    # Writes on people's records.
    PERSON_CREATE = "person.create"
    PERSON_RECTIFY = "person.rectify"
    PATHWAY_SET_REFERENT = "pathway.set_referent"
    PATHWAY_SET_MODALITY = "pathway.set_modality"
    PATHWAY_RECORD_BARRIER = "pathway.record_barrier"
    PATHWAY_ADD_NOTE = "pathway.add_note"
    PATHWAY_CLOSE = "pathway.close"
    PATHWAY_REACTIVATE = "pathway.reactivate"
    REFERRAL_CREATE = "referral.create"
    REFERRAL_SEND = "referral.send"
    REFERRAL_WITHDRAW = "referral.withdraw"
    REFERRAL_ACCEPT = "referral.accept"
    REFERRAL_REFUSE = "referral.refuse"
    REFERRAL_SET_APPOINTMENT = "referral.set_appointment"
    REFERRAL_RECORD_ATTENDANCE = "referral.record_attendance"
    REFERRAL_RECORD_NO_SHOW = "referral.record_no_show"
    REFERRAL_CLOSE = "referral.close"
    REFERRAL_EXPIRE = "referral.expire"  # the system's alone (a periodic task, no actor)
    REFERRAL_CORRECT_ATTENDANCE = "referral.correct_attendance"  # its author's, within a delay
    REFERRAL_PROPOSE_TRANSFER = "referral.propose_transfer"
    REFERRAL_CONFIRM_TRANSFER = "referral.confirm_transfer"
    REFERRAL_DECLINE_TRANSFER = "referral.decline_transfer"
    # The receiver's proposal confirmed at once: only within an agreement that allows it (the
    # service finds it, `Agreement.objects.allowing_transfer`).
    REFERRAL_TRANSFER_UNDER_AGREEMENT = "referral.transfer_under_agreement"
    REFERRAL_ASSIGN = "referral.assign"  # the receiver's team: who handles a received referral
    # The link of a receiver without an account (issue 19): its sender revokes it or issues a
    # new one (the former revoked).
    RECEIVER_LINK_REVOKE = "receiver_link.revoke"
    RECEIVER_LINK_ISSUE = "receiver_link.issue"
    CONSENT_RECORD = "consent.record"
    CONSENT_NARROW = "consent.narrow"
    CONSENT_REVOKE = "consent.revoke"
    OBJECTION_RECORD = "objection.record"
    OBJECTION_WITHDRAW = "objection.withdraw"
    CARE_TEAM_ADD = "care_team.add"
    CARE_TEAM_END = "care_team.end"
    BREAK_GLASS_OPEN = "break_glass.open"
    ACCESS_REQUEST_CREATE = "access_request.create"
    ACCESS_REQUEST_DECIDE = "access_request.decide"
    DIAGNOSTIC_WRITE = "diagnostic.write"  # a new version of one domain of the diagnostic
    # The partnership and the organisation.
    AGREEMENT_PROPOSE = "agreement.propose"
    AGREEMENT_CHANGE = "agreement.change"
    AGREEMENT_ACCEPT = "agreement.accept"  # for the acting organisation only
    AGREEMENT_DECLINE = "agreement.decline"
    # The indicators annexed to an agreement (issue 18): chosen, with targets, by its signatories;
    # their periodic report read by its parties' managers and administrators.
    AGREEMENT_INDICATORS_SET = "agreement.indicators_set"
    AGREEMENT_INDICATORS_READ = "agreement.indicators_read"
    ADMINISTER_ORGANISATION = "organisation.administer"
    # Partner systems' webhooks (services/webhooks.py): subscriptions and their delivery log.
    WEBHOOK_MANAGE = "webhook.manage"
    WEBHOOK_REPLAY = "webhook.replay"
    # The DPO's work (who did what; never record content).
    DPO_REPORT = "dpo.report"
    DPO_REPORT_EVERY_ORGANISATION = "dpo.report_every_organisation"
    RIGHTS_REQUEST_HANDLE = "rights_request.handle"
    # Who may be named (the référent of a pathway) and who is told (recipients of e-mails).
    BE_REFERENT = "pathway.be_referent"
    BE_REFERRAL_ASSIGNEE = "referral.be_assignee"  # whom a received referral is assigned to
    RECEIVE_ESCALATIONS = "notice.escalation"
    # An escalation's rung to the territory: the coordinators of the receiver's area.
    RECEIVE_TERRITORY_ESCALATIONS = "notice.territory_escalation"
    RECEIVE_BREAK_GLASS_NOTICE = "notice.break_glass"
    RECEIVE_REMINDERS = "notice.reminder"  # the receiver's deadlines, before they pass
    RECEIVE_ANSWERS = "notice.answer"  # the receiver's answers to a referral, on the sending side
    # A person's unemployment rights end soon: they may fall to the rSa (issue 18).
    RECEIVE_RIGHTS_END_WARNINGS = "notice.rights_end"
    # A ProConnect sign-in refused for an account awaiting activation in the organisation.
    RECEIVE_SIGN_IN_NOTICE = "notice.sign_in"
    # The pathway's action plan (objectives and their actions).
    PLAN_READ = "plan.read"
    PLAN_ACTION_LIST = "plan_action.list"  # « À traiter »: the organisation's overdue actions
    PLAN_OBJECTIVE_ADD = "plan.objective_add"
    PLAN_OBJECTIVE_SET_STATUS = "plan.objective_set_status"
    PLAN_ACTION_ADD = "plan.action_add"
    PLAN_ACTION_SET_STATUS = "plan.action_set_status"
    # Messages on a referral, between its two parties (issue 14).
    REFERRAL_MESSAGE_READ = "referral_message.read"
    REFERRAL_MESSAGE_POST = "referral_message.post"
    # Statistics without people (issue 18): the organisation's referral figures, aggregates only.
    STATISTICS_READ = "statistics.read"
    # The territory of a coordinator (issue 18): the overdue referrals and the aggregates of the
    # employment areas they cover, across partners; a pseudonymous reference, never a person.
    TERRITORY_READ = "territory.read"
    # The case committee (CLCVP, issue 18): proposals, sessions, agenda, decisions.
    COMMITTEE_PROPOSE = "committee.propose"
    COMMITTEE_SCHEDULE = "committee.schedule"  # a session, its attendees, its agenda, a refusal
    COMMITTEE_DECIDE = "committee.decide"
    COMMITTEE_READ_ITEM = "committee.read_item"  # a proposal's text written for the committee
    COMMITTEE_LIST = "committee.list"  # the sessions and proposals the actor may see


@dataclass(frozen=True)
class Rule:
    label: str
    roles: frozenset[str]
    # None: the action concerns no record (creating a person) or the record's scope already
    # says it all (reads: a grant exists only with a relationship and a basis).
    relations: frozenset[Relation] | None
    refusal: str | Promise
    # The category the actor must see on the record to even find it (404 otherwise).
    category: str | None = None
    # Said when the role is the reason (`refusal` otherwise, or when no relation is needed).
    role_refusal: str | Promise = ""

    def allows(self, role: str, relations=frozenset()) -> bool:
        return self.allows_role(role) and (
            self.relations is None or bool(self.relations & set(relations))
        )

    def allows_role(self, role: str) -> bool:
        return role in self.roles

    def refusal_for(self, role: str) -> str:
        if self.relations is not None and not self.allows_role(role):
            return str(self.role_refusal) or str(
                _("Votre rôle ne permet pas cette action (%(action)s).")
                % {"action": self.label.lower()}
            )
        return str(self.refusal)


def _reads(label: str, category: str | None = DataCategory.PATHWAY, *, link: bool = False) -> Rule:
    """A read: open to the roles that see some category; to a receiver's link only when `link`
    (its referral and that referral's appointments, nothing else of the pathway)."""
    return Rule(
        label=label,
        roles=frozenset(
            r for r, categories in ROLE_CATEGORIES.items() if categories and (link or r != LINK)
        ),
        relations=None,
        refusal="",
        category=category,
    )


_CONSENT_ROLES = _("Seuls les conseillers et travailleurs sociaux recueillent l'accord.")
_PLAN_ROLES = _("Seuls les conseillers et travailleurs sociaux tiennent le plan d'action.")
_MESSAGE_PARTIES = _(
    "Seuls l'organisme prescripteur et l'organisme destinataire de cette orientation échangent "
    "des messages à son sujet."
)
_MESSAGE_ROLES = _(
    "Seuls les conseillers et travailleurs sociaux lisent et écrivent les messages d'une "
    "orientation."
)
_PLAN_FOLLOWERS = _(
    "Seules les organisations qui suivent le parcours (porteuse, référent, équipe de suivi) "
    "construisent le plan d'action."
)

_INDICATORS_SET = _(
    "Seuls les responsables et administrateurs des signataires choisissent les indicateurs."
)
_INDICATORS_READ = _(
    "Les indicateurs d'une convention sont réservés aux responsables et administrateurs des "
    "signataires."
)

_MOVE_LABELS = {
    Move.SEND: "Envoi d'une orientation",
    Move.WITHDRAW: "Retrait d'une orientation",
    Move.ACCEPT: "Acceptation d'une orientation",
    Move.REFUSE: "Refus d'une orientation",
    Move.SET_APPOINTMENT: "Rendez-vous fixé",
    Move.RECORD_ATTENDANCE: "Venue constatée",
    Move.RECORD_NO_SHOW: "Absence constatée",
    Move.CLOSE: "Clôture d'une orientation",
    Move.CORRECT_ATTENDANCE: "Correction d'une venue ou d'une absence",
    Move.PROPOSE_TRANSFER: "Proposition de réorientation",
    Move.CONFIRM_TRANSFER: "Confirmation d'une réorientation",
    Move.DECLINE_TRANSFER: "Refus d'une réorientation",
    Move.TRANSFER_UNDER_AGREEMENT: "Réorientation dans le cadre d'une convention",
}
# The moves that send the person to a new organisation (a new referral naming them) are the case
# workers', as creating a referral is (REFERRAL_CREATE): a manager sees no identity. Every other
# move is also a manager's.
_MOVE_ROLES: dict[Move, frozenset[str]] = {
    Move.CONFIRM_TRANSFER: CASEWORKERS,
    Move.TRANSFER_UNDER_AGREEMENT: CASEWORKERS,
}
# The receiver's answers a link may give (issue 19): accept, refuse, set the appointment, record
# the outcome and close — not a réorientation (it names a partner), nor a correction (its
# author's, a user).
LINK_MOVES = frozenset(
    {
        Move.ACCEPT,
        Move.REFUSE,
        Move.SET_APPOINTMENT,
        Move.RECORD_ATTENDANCE,
        Move.RECORD_NO_SHOW,
        Move.CLOSE,
    }
)
_SENDING_ROLES = _(
    "Seuls les conseillers et travailleurs sociaux orientent une personne vers un partenaire."
)
_PARTY_REFUSAL = {
    Party.SENDER: _("Seul l'organisme prescripteur peut « %(action)s » cette orientation."),
    Party.RECEIVER: _("Seul l'organisme destinataire peut « %(action)s » cette orientation."),
}
_PARTY_RELATION = {Party.SENDER: Relation.SENDER, Party.RECEIVER: Relation.RECEIVER}


def move_action(move: Move) -> Action:
    """The gate's action for a referral move of the transitions table."""
    return Action(f"referral.{move.value}")


def _move_rule(move: Move) -> Rule:
    from .transitions import ACTION_LABELS

    party = ACTION_PARTY[move]
    return Rule(
        label=_MOVE_LABELS[move],
        roles=_MOVE_ROLES.get(move, CASEWORK_AND_MANAGERS)
        | (LINKS if move in LINK_MOVES else frozenset()),
        relations=frozenset({_PARTY_RELATION[party]}),
        refusal=str(_PARTY_REFUSAL[party] % {"action": ACTION_LABELS[move]}),
        category=DataCategory.PATHWAY,
        role_refusal=_SENDING_ROLES if move in _MOVE_ROLES else "",
    )


RULES: dict[Action, Rule] = {
    Action.PERSON_READ: _reads("Consultation de la fiche d'une personne", DataCategory.IDENTITY),
    Action.PERSON_LIST: _reads("Liste de personnes", DataCategory.IDENTITY),
    Action.PATHWAY_READ: _reads("Consultation d'un parcours", None),
    Action.PATHWAY_LIST: _reads("Liste de parcours", None),
    Action.TIMELINE_READ: _reads("Consultation de l'historique d'un parcours", None),
    Action.REFERRAL_READ: _reads("Consultation d'une orientation", link=True),
    Action.REFERRAL_LIST: _reads("Liste d'orientations"),
    Action.APPOINTMENT_READ: _reads("Consultation d'un rendez-vous", link=True),
    Action.APPOINTMENT_LIST: _reads("Liste de rendez-vous"),
    Action.CONSENT_READ: _reads("Consultation d'un accord", DataCategory.IDENTITY),
    Action.CONSENT_LIST: _reads("Liste d'accords", DataCategory.IDENTITY),
    # The consent's read rule: whoever reads the consent may download its evidence file.
    Action.CONSENT_EVIDENCE_READ: _reads(
        "Téléchargement de la pièce justificative d'un accord", DataCategory.IDENTITY
    ),
    Action.OBJECTION_READ: _reads("Consultation d'une opposition", DataCategory.IDENTITY),
    Action.OBJECTION_LIST: _reads("Liste d'oppositions", DataCategory.IDENTITY),
    Action.CARE_TEAM_READ: _reads("Consultation de l'équipe de suivi"),
    Action.CARE_TEAM_LIST: _reads("Liste de l'équipe de suivi"),
    Action.BREAK_GLASS_LIST: Rule(
        "Liste des accès exceptionnels de l'organisation", CASEWORK_AND_MANAGERS, None, ""
    ),
    Action.ACCESS_REQUEST_LIST: Rule(
        "Liste des demandes d'accès de l'organisation", CASEWORK_AND_MANAGERS, None, ""
    ),
    Action.PERSON_CREATE: Rule(
        "Création d'une personne",
        CASEWORKERS,
        None,
        _("Votre rôle ne permet pas de créer une personne."),
    ),
    Action.PERSON_RECTIFY: Rule(
        "Rectification des données d'une personne",
        CASEWORKERS,
        LEADS,
        _(
            "Seule l'organisation qui porte le parcours (ou celle du référent) rectifie les "
            "données de la personne."
        ),
        DataCategory.IDENTITY,
    ),
    Action.PATHWAY_SET_REFERENT: Rule(
        "Désignation du référent",
        CASEWORK_AND_MANAGERS,
        frozenset({Relation.OWNER}),
        _("Seule l'organisation propriétaire du parcours désigne le référent."),
        DataCategory.PATHWAY,
    ),
    Action.PATHWAY_SET_MODALITY: Rule(
        "Changement de modalité d'accompagnement",
        CASEWORK_AND_MANAGERS,
        LEADS,
        _(
            "Seule l'organisation qui porte le parcours (ou celle du référent) change la "
            "modalité d'accompagnement."
        ),
        DataCategory.PATHWAY,
    ),
    Action.PATHWAY_RECORD_BARRIER: Rule(
        "Mise à jour d'un frein périphérique",
        CASEWORKERS,
        FOLLOWERS,
        _(
            "Seules les organisations qui suivent le parcours (porteuse, référent, équipe de "
            "suivi) mettent à jour les freins."
        ),
        DataCategory.SOCIAL,
    ),
    Action.PATHWAY_ADD_NOTE: Rule(
        "Ajout d'une note au parcours",
        CASEWORK_AND_MANAGERS,
        ANY_RELATION,
        _("Seules les organisations qui travaillent avec la personne ajoutent des notes."),
        DataCategory.PATHWAY,
    ),
    Action.PATHWAY_CLOSE: Rule(
        "Clôture du parcours",
        CASEWORK_AND_MANAGERS,
        frozenset({Relation.OWNER}),
        _("Seule l'organisation propriétaire peut clôturer le parcours."),
        DataCategory.PATHWAY,
    ),
    Action.PATHWAY_REACTIVATE: Rule(
        "Réactivation d'un dossier archivé",
        CASEWORKERS,
        frozenset({Relation.OWNER}),
        _("Seule l'organisation propriétaire peut réactiver ce parcours."),
        DataCategory.PATHWAY,
        _("Votre rôle ne permet pas de réactiver un dossier archivé."),
    ),
    Action.REFERRAL_CREATE: Rule(
        "Création d'une orientation",
        CASEWORKERS,  # a referral names the person: a manager sees no identity
        FOLLOWERS,
        _(
            "Seules les organisations qui suivent le parcours (porteuse, référent, équipe de "
            "suivi) orientent la personne."
        ),
        DataCategory.PATHWAY,
    ),
    **{move_action(move): _move_rule(move) for move in _MOVE_LABELS},
    Action.REFERRAL_EXPIRE: Rule(
        "Expiration d'une orientation",
        frozenset(),
        frozenset(),
        _("« expirer » est réservé au traitement automatique."),
        DataCategory.PATHWAY,
        _("« expirer » est réservé au traitement automatique."),
    ),
    # The receiving team: a received referral is assigned to one of the receiver's counsellors
    # (services/referral_assignment.py). Its case workers take one on themselves or hand it to
    # a colleague; its manager dispatches the team's work. Never the sender: who handles the
    # person at the receiver is the receiver's to decide.
    Action.REFERRAL_ASSIGN: Rule(
        "Attribution d'une orientation reçue",
        CASEWORK_AND_MANAGERS,
        frozenset({Relation.RECEIVER}),
        _("Seul l'organisme destinataire confie cette orientation à l'un de ses conseillers."),
        DataCategory.PATHWAY,
        _(
            "Seuls les conseillers, travailleurs sociaux et responsables de structure "
            "attribuent une orientation reçue."
        ),
    ),
    # The link of a receiver without an account: the sending organisation, which chose to send
    # the person there, revokes it or issues a new one (the case workers and the manager, as
    # withdrawing the referral). The receiver's own answers through it are the move rows (LINK).
    Action.RECEIVER_LINK_REVOKE: Rule(
        "Révocation du lien d'accès sans compte",
        CASEWORK_AND_MANAGERS,
        frozenset({Relation.SENDER}),
        _("Seul l'organisme prescripteur révoque le lien d'accès de cette orientation."),
        DataCategory.PATHWAY,
    ),
    Action.RECEIVER_LINK_ISSUE: Rule(
        "Envoi d'un nouveau lien d'accès sans compte",
        CASEWORK_AND_MANAGERS,
        frozenset({Relation.SENDER}),
        _("Seul l'organisme prescripteur envoie un nouveau lien d'accès pour cette orientation."),
        DataCategory.PATHWAY,
    ),
    Action.CONSENT_RECORD: Rule(
        "Recueil de l'accord de la personne",
        CASEWORKERS,
        ANY_RELATION,
        _("Seules les organisations qui travaillent avec la personne recueillent son accord."),
        DataCategory.IDENTITY,
        _CONSENT_ROLES,
    ),
    Action.CONSENT_NARROW: Rule(
        "Restriction d'un accord",
        CASEWORKERS,
        LEADS | {Relation.COLLECTOR},
        _(
            "Seule l'organisation qui a recueilli cet accord, ou celle qui porte le parcours, "
            "peut le restreindre."
        ),
        DataCategory.IDENTITY,
        _CONSENT_ROLES,
    ),
    Action.CONSENT_REVOKE: Rule(
        "Retrait d'un accord",
        CASEWORKERS,
        LEADS | {Relation.COLLECTOR},
        _(
            "Seule l'organisation qui a recueilli cet accord, ou celle qui porte le parcours, "
            "enregistre son retrait."
        ),
        DataCategory.IDENTITY,
        _CONSENT_ROLES,
    ),
    Action.OBJECTION_RECORD: Rule(
        "Enregistrement d'une opposition",
        CASEWORKERS,
        ANY_RELATION,
        _("Seuls les conseillers et travailleurs sociaux recueillent l'opposition."),
        DataCategory.IDENTITY,
    ),
    Action.OBJECTION_WITHDRAW: Rule(
        "Levée d'une opposition",
        CASEWORKERS,
        LEADS,
        _(
            "Seule l'organisation qui porte le parcours (ou celle du référent) enregistre la "
            "levée de l'opposition."
        ),
        DataCategory.IDENTITY,
    ),
    Action.CARE_TEAM_ADD: Rule(
        "Ajout à l'équipe de suivi",
        CASEWORK_AND_MANAGERS,
        LEADS,
        _(
            "Seule l'organisation qui porte le parcours (ou celle du référent) gère l'équipe "
            "de suivi."
        ),
        DataCategory.PATHWAY,
    ),
    Action.CARE_TEAM_END: Rule(
        "Sortie de l'équipe de suivi",
        CASEWORK_AND_MANAGERS,
        LEADS,
        _(
            "Seule l'organisation qui porte le parcours (ou celle du référent) gère l'équipe "
            "de suivi."
        ),
        DataCategory.PATHWAY,
    ),
    Action.BREAK_GLASS_OPEN: Rule(
        "Ouverture d'un accès exceptionnel",
        CASEWORKERS,
        ANY_RELATION,
        _("Seuls les conseillers et travailleurs sociaux peuvent ouvrir un accès exceptionnel."),
    ),
    Action.ACCESS_REQUEST_CREATE: Rule(
        "Demande d'accès à un dossier",
        CASEWORK_AND_MANAGERS,
        None,
        _("Votre rôle ne permet pas de demander l'accès à un dossier."),
    ),
    Action.ACCESS_REQUEST_DECIDE: Rule(
        "Réponse à une demande d'accès",
        CASEWORK_AND_MANAGERS,
        frozenset({Relation.OWNER}),
        _("Votre rôle ne permet pas de répondre à une demande d'accès."),
    ),
    # The shared diagnostic (diagnostic socio-professionnel partagé): a read shows the domains of
    # the categories the actor sees; a write needs the domain's category (given by the service,
    # `diagnostic_domains.domain_category`: 404 without it). Co-written by the case workers of
    # the organisations that work on the person's situation: the holders and the care team, and
    # the receiver of a referral, which assesses the person for what it was asked (its view is
    # already capped to what the sender shared). Not a sender that does not follow the pathway
    # (it handed the person over and keeps a view only for the grace period), nor an exceptional
    # access (to read in an emergency, not to write the file); not a manager, who sees no
    # situation (only the pathway category) and steers activity rather than assess a person.
    Action.DIAGNOSTIC_READ: _reads("Consultation du diagnostic partagé", None),
    Action.DIAGNOSTIC_WRITE: Rule(
        "Mise à jour du diagnostic partagé",
        CASEWORKERS,
        FOLLOWERS | {Relation.RECEIVER},
        _(
            "Seules les organisations qui suivent le parcours (porteuse, référent, équipe de "
            "suivi) ou qui ont reçu une orientation de la personne rédigent son diagnostic."
        ),
        None,  # the domain's own category, checked by the service
        _("Seuls les conseillers et travailleurs sociaux rédigent le diagnostic partagé."),
    ),
    Action.AGREEMENT_PROPOSE: Rule(
        "Proposition d'une convention",
        AGREEMENT_SIGNATORIES,
        None,
        _("Seuls les responsables de structure enregistrent les conventions."),
    ),
    Action.AGREEMENT_CHANGE: Rule(
        "Modification d'une convention",
        AGREEMENT_SIGNATORIES,
        frozenset({Relation.PARTY}),
        _("Seuls les responsables de structure modifient les conventions."),
    ),
    Action.AGREEMENT_ACCEPT: Rule(
        "Acceptation d'une convention",
        AGREEMENT_SIGNATORIES,
        frozenset({Relation.PARTY}),
        _("Seuls les responsables de structure acceptent une convention."),
    ),
    Action.AGREEMENT_DECLINE: Rule(
        "Refus d'une convention",
        AGREEMENT_SIGNATORIES,
        frozenset({Relation.PARTY}),
        _("Seuls les responsables de structure refusent une convention."),
    ),
    # Aggregates only (no person): no category. Annexing indicators binds no party further (it
    # reports, it opens no access and sets no delay): a signatory changes them at once.
    Action.AGREEMENT_INDICATORS_SET: Rule(
        "Choix des indicateurs d'une convention",
        AGREEMENT_SIGNATORIES,
        frozenset({Relation.PARTY}),
        _INDICATORS_SET,
        role_refusal=_INDICATORS_SET,
    ),
    Action.AGREEMENT_INDICATORS_READ: Rule(
        "Consultation des indicateurs d'une convention",
        AGREEMENT_SIGNATORIES,
        frozenset({Relation.PARTY}),
        _INDICATORS_READ,
        role_refusal=_INDICATORS_READ,
    ),
    Action.ADMINISTER_ORGANISATION: Rule(
        "Administration de l'organisation",
        frozenset({Role.ADMIN}),
        None,
        _("Seuls les administrateurs de l'organisation l'administrent."),
    ),
    Action.WEBHOOK_MANAGE: Rule(
        "Abonnements webhook des systèmes partenaires",
        frozenset({Role.ADMIN}),
        None,
        _("Seuls les administrateurs de l'organisation gèrent ses abonnements webhook."),
    ),
    Action.WEBHOOK_REPLAY: Rule(
        "Renvoi d'un message webhook",
        frozenset({Role.ADMIN}),
        None,
        _("Seuls les administrateurs de l'organisation renvoient un message webhook."),
    ),
    Action.DPO_REPORT: Rule(
        "Rapport du délégué à la protection des données",
        DPOS,
        None,
        _("Réservé au délégué à la protection des données (DPO)."),
    ),
    Action.DPO_REPORT_EVERY_ORGANISATION: Rule(
        "Rapport sur toutes les organisations",
        frozenset({Role.NATIONAL_DPO}),
        None,
        _("Réservé au délégué à la protection des données national."),
    ),
    Action.RIGHTS_REQUEST_HANDLE: Rule(
        "Traitement d'une demande d'exercice de droits",
        DPOS,
        None,
        _("Les demandes d'exercice de droits sont traitées par les délégués à la protection."),
    ),
    Action.BE_REFERENT: Rule(
        "Référent d'un parcours",
        CASEWORKERS,
        None,
        _("Le référent doit être un conseiller ou un travailleur social actif."),
    ),
    # The assignee of a received referral follows the person (caseload, care team): a case
    # worker of the receiving organisation, never a manager (who sees no identity) nor a DPO.
    Action.BE_REFERRAL_ASSIGNEE: Rule(
        "Conseiller en charge d'une orientation reçue",
        CASEWORKERS,
        None,
        _("Une orientation se confie à un conseiller ou à un travailleur social."),
    ),
    Action.RECEIVE_ESCALATIONS: Rule(
        "Destinataire des escalades aux responsables", frozenset({M}), None, ""
    ),
    # The last rung of a ladder (EscalationAudience.COORDINATORS): the coordinators who cover
    # the receiving organisation's employment area, told without the person's name.
    Action.RECEIVE_TERRITORY_ESCALATIONS: Rule(
        "Destinataire des escalades au coordinateur territorial", frozenset({COORD}), None, ""
    ),
    Action.RECEIVE_BREAK_GLASS_NOTICE: Rule(
        "Destinataire des avis d'accès exceptionnel", frozenset({Role.DPO}), None, ""
    ),
    # The receiving organisation's case workers, who answer, book and receive the person.
    Action.RECEIVE_REMINDERS: Rule("Destinataire des rappels d'échéance", CASEWORKERS, None, ""),
    # The sending counsellor hears of the receiver's answers; when they left the organisation
    # (or it no longer employs them as a case worker), the pathway's référent there, failing
    # that the organisation's case workers (notifications/services/recipients.py). A manager
    # steers activity and reads no person's name: not a recipient.
    Action.RECEIVE_ANSWERS: Rule(
        "Destinataire des réponses aux orientations envoyées", CASEWORKERS, None, ""
    ),
    # The référent hears that the person's rights end soon (failing a référent, the owning
    # organisation's case workers), and so does a département following the person in its care
    # team (its contact address first: one shared inbox, not every social worker).
    Action.RECEIVE_RIGHTS_END_WARNINGS: Rule(
        "Destinataire des alertes de fin de droits", CASEWORKERS, None, ""
    ),
    # Who activates an agent's account (a membership, in the admin): the organisation's
    # administrators. An unknown SIRET has no organisation: the platform's administrators
    # (superusers) are told instead (notifications/services/sign_in.py).
    Action.RECEIVE_SIGN_IN_NOTICE: Rule(
        "Destinataire des demandes d'accès par ProConnect", frozenset({Role.ADMIN}), None, ""
    ),
    # The action plan is built by those who follow the pathway, with the person; an organisation
    # that holds one of its actions (a partner that received the person, say) reports on it.
    Action.PLAN_READ: _reads("Consultation du plan d'action"),
    Action.PLAN_ACTION_LIST: _reads("Liste d'actions du plan d'action"),
    Action.PLAN_OBJECTIVE_ADD: Rule(
        "Ajout d'un objectif au plan d'action",
        CASEWORKERS,
        FOLLOWERS,
        _PLAN_FOLLOWERS,
        DataCategory.PATHWAY,
        _PLAN_ROLES,
    ),
    Action.PLAN_OBJECTIVE_SET_STATUS: Rule(
        "Changement de statut d'un objectif",
        CASEWORKERS,
        FOLLOWERS,
        _PLAN_FOLLOWERS,
        DataCategory.PATHWAY,
        _PLAN_ROLES,
    ),
    Action.PLAN_ACTION_ADD: Rule(
        "Ajout d'une action au plan d'action",
        CASEWORKERS,
        FOLLOWERS,
        _PLAN_FOLLOWERS,
        DataCategory.PATHWAY,
        _PLAN_ROLES,
    ),
    Action.PLAN_ACTION_SET_STATUS: Rule(
        "Changement de statut d'une action",
        CASEWORKERS,
        FOLLOWERS | {Relation.ACTION_OWNER},
        _(
            "Seules les organisations qui suivent le parcours, ou celle qui porte cette action, "
            "en changent le statut."
        ),
        DataCategory.PATHWAY,
        _PLAN_ROLES,
    ),
    # Messages on a referral: a thread between the counsellors of its two parties (the sender and
    # the receiver of this very referral, `gate.relations.relations_to_referral`), covered by the
    # referral's basis (the pathway category: 404 without it). Not a care-team bystander, which
    # sees the referral but is no party to the exchange; not a manager, who sees only the pathway
    # category and steers activity — a message is free text about the person, like a note
    # between colleagues, whose content no category vouches for.
    Action.REFERRAL_MESSAGE_READ: Rule(
        "Lecture des messages d'une orientation",
        CASEWORKERS,
        frozenset({Relation.SENDER, Relation.RECEIVER}),
        _MESSAGE_PARTIES,
        DataCategory.PATHWAY,
        _MESSAGE_ROLES,
    ),
    Action.REFERRAL_MESSAGE_POST: Rule(
        "Envoi d'un message sur une orientation",
        CASEWORKERS,
        frozenset({Relation.SENDER, Relation.RECEIVER}),
        _MESSAGE_PARTIES,
        DataCategory.PATHWAY,
        _MESSAGE_ROLES,
    ),
    # The dashboard: an organisation's referral figures, sent and received, by partner and month
    # (selectors/referral_statistics.py). Aggregates only, small cells suppressed: no record,
    # hence no relation. Managers steer their organisation's activity; a territorial coordinator
    # reads those of every partner of the employment areas they cover
    # (`access.statistics_organisations_for`); a case worker follows people, not figures.
    Action.STATISTICS_READ: Rule(
        "Consultation des statistiques",
        frozenset({M, COORD}),
        None,
        _(
            "Le tableau de bord est réservé aux responsables de structure et aux coordinateurs "
            "territoriaux."
        ),
    ),
    # The coordinator's territory: the overdue referrals of their areas (who is late, towards
    # whom, for how long) and the areas' aggregates. No record is opened: a referral appears by a
    # pseudonymous reference, without the person (`access.coordinated_area_ids`).
    Action.TERRITORY_READ: Rule(
        "Consultation du suivi du territoire",
        frozenset({COORD}),
        None,
        _("Le suivi du territoire est réservé aux coordinateurs territoriaux."),
    ),
    # The case committee (CLCVP). A partner that follows the pathway puts it forward, with the
    # basis on which the committee may read the situation (the person's consent, or a legal
    # basis it holds); the coordinator of the area runs the sessions: the agenda and the
    # decision, whose follow-ups are created by the proposer's organisation through the plan and
    # referral services (their own rules apply to it). The proposal's text is read by the
    # coordinator, the proposer and the invited organisations — the record itself only by
    # those with their own basis on the pathway (the usual grants).
    Action.COMMITTEE_PROPOSE: Rule(
        "Proposition d'un parcours au comité",
        CASEWORKERS,
        FOLLOWERS,
        _(
            "Seules les organisations qui suivent le parcours (porteuse, référent, équipe de "
            "suivi) le proposent au comité de parcours."
        ),
        DataCategory.PATHWAY,
        _("Seuls les conseillers et travailleurs sociaux proposent un parcours au comité."),
    ),
    Action.COMMITTEE_SCHEDULE: Rule(
        "Organisation d'un comité de parcours",
        COORDS,
        frozenset({Relation.AREA_COORDINATOR}),
        _("Seul le coordinateur territorial du bassin d'emploi organise ce comité."),
        None,
        _("Seuls les coordinateurs territoriaux organisent les comités de parcours."),
    ),
    Action.COMMITTEE_DECIDE: Rule(
        "Décision du comité de parcours",
        COORDS,
        frozenset({Relation.AREA_COORDINATOR}),
        _("Seul le coordinateur territorial du bassin d'emploi enregistre la décision."),
        None,
        _("Seuls les coordinateurs territoriaux enregistrent les décisions du comité."),
    ),
    Action.COMMITTEE_READ_ITEM: Rule(
        "Consultation d'un dossier proposé au comité",
        CASEWORK_AND_MANAGERS | COORDS,
        frozenset({Relation.AREA_COORDINATOR, Relation.ATTENDEE, Relation.PROPOSER}),
        _(
            "Seuls le coordinateur, l'organisation qui propose et les organisations invitées au "
            "comité lisent ce dossier."
        ),
    ),
    Action.COMMITTEE_LIST: Rule(
        "Liste des comités de parcours",
        CASEWORK_AND_MANAGERS | COORDS,
        None,
        _(
            "Les comités de parcours réunissent les conseillers, les travailleurs sociaux, les "
            "responsables de structure et les coordinateurs territoriaux."
        ),
    ),
}


def roles_for(action: Action) -> frozenset[str]:
    """The roles an action is open to (e.g. the recipients of a notice, for a membership query)."""
    return RULES[action].roles


def role_categories(role: str) -> frozenset[str]:
    return ROLE_CATEGORIES.get(role, frozenset())


@dataclass(frozen=True)
class AuthorWindow:
    """An action beyond role and relation: only the user who made the write it corrects may
    take it, until a deadline stamped on the record when that write was made (the gate's
    `require_author`; the refusals are journaled like every other)."""

    not_author: str | Promise
    too_late: str | Promise  # formatted with %(until)s, the deadline in words


AUTHOR_WINDOWS: dict[Action, AuthorWindow] = {
    # The deadline is the referral's `attendance_correctable_until`, stamped when the outcome
    # is recorded: PARCOURS_ATTENDANCE_CORRECTION_WORKING_DAYS French working days later.
    Action.REFERRAL_CORRECT_ATTENDANCE: AuthorWindow(
        not_author=_(
            "Seule la personne qui a saisi la venue ou l'absence peut la corriger ; demandez-lui "
            "de le faire."
        ),
        too_late=_(
            "Le délai de correction est dépassé (il courait jusqu'au %(until)s) : ajoutez une "
            "note au parcours pour signaler l'erreur aux partenaires."
        ),
    ),
}
