"""How the journal's codes read in front of people (issue 13: no English, no codes): the kind
of record a row names ("pathway" → « parcours ») and the bases it was shown under
("legal:spe consent:12" → « Mission de service public de l'emploi ; accord n°12 »).

The journal keeps the codes (they are what the gate writes and what the indexes and the reports
filter on); the DPO's pages, PDFs and CSVs, and the person's own report, show these labels.
"""

from .bases import legal_bases
from .models import OrganisationKind

# object_type → (singular, plural), as the journal names records (parcours/gate/journal.py).
RECORD_NAMES: dict[str, tuple[str, str]] = {
    "person": ("personne", "personnes"),
    "pathway": ("parcours", "parcours"),
    "referral": ("orientation", "orientations"),
    "appointment": ("rendez-vous", "rendez-vous"),
    "consent": ("accord", "accords"),
    "objection": ("opposition", "oppositions"),
    "care_team_member": ("membre de l'équipe de suivi", "membres de l'équipe de suivi"),
    "agreement": ("convention", "conventions"),
    "break_glass": ("accès exceptionnel", "accès exceptionnels"),
    "access_request": ("demande d'accès", "demandes d'accès"),
    "rights_request": ("demande d'exercice de droits", "demandes d'exercice de droits"),
    "user": ("utilisateur", "utilisateurs"),
    "account": ("compte utilisateur", "comptes utilisateurs"),
    "journal": ("journal des accès", "journaux des accès"),
    "register": ("registre des traitements", "registres des traitements"),
    "anomalies": ("rapport d'anomalies", "rapports d'anomalies"),
    "retention": ("application des durées de conservation", "applications des durées"),
    "objective": ("objectif du plan d'action", "objectifs du plan d'action"),
    "plan_action": ("action du plan d'action", "actions du plan d'action"),
    "territory": ("suivi du territoire", "suivis du territoire"),
}
UNKNOWN_RECORD = ("élément", "éléments")

# What an organisation's own relation to a record is called when it is the basis.
RELATION_BASES = {
    "owner": "Mission de la structure qui détient le dossier",
    "referent": "Mission de la structure référente",
}
# basis kind → how one basis of that kind is named, with its number in the internal version.
NUMBERED_BASES = {
    "consent": "accord de la personne",
    "agreement": "convention de partenariat",
    "referral": "orientation en cours",
    "break_glass": "accès exceptionnel",
}
UNKNOWN_BASIS = "base non reconnue"
UNKNOWN_ORGANISATION_KIND = "type d'organisme non reconnu"


def receiver_link_label(organisation_name: str) -> str:
    """Who acted through a receiver's link (issue 19): no user, its organisation."""
    return f"Lien d'accès sans compte ({organisation_name})"


def record_name(object_type: str, *, plural: bool = False) -> str:
    singular, many = RECORD_NAMES.get(object_type, UNKNOWN_RECORD)
    return many if plural else singular


def record_label(object_type: str, object_id: int | None = None) -> str:
    """« parcours n°12 »: ids only, never names."""
    name = record_name(object_type)
    return f"{name} n°{object_id}" if object_id else name


def list_label(object_type: str, count: int) -> str:
    """« liste : 20 parcours »."""
    return f"liste : {count} {record_name(object_type, plural=count > 1)}"


def legal_basis_labels() -> dict[str, str]:
    """Code after `legal:` → its label: the organisation's own relation, then the legal bases
    in force (parcours/bases.py)."""
    labels = dict(RELATION_BASES)
    for basis in legal_bases():
        labels.setdefault(basis.code, basis.label)
    return labels


def basis_label(basis: str, *, numbered: bool = True) -> str:
    """The bases of a journal row in words, « ; » between them, each once. `numbered` keeps
    which consent, agreement or referral (the DPO's internal reports); without it the person's
    report names only the kind."""
    legal = legal_basis_labels()
    names: list[str] = []
    for code in basis.split():
        kind, _, reference = code.partition(":")
        if kind == "legal":
            name = legal.get(reference, "Mission prévue par la loi")
        elif kind in NUMBERED_BASES:
            name = NUMBERED_BASES[kind]
            if numbered and reference:
                name = f"{name} n°{reference}"
        else:
            name = UNKNOWN_BASIS
        if name not in names:
            names.append(name)
    return " ; ".join(names)


def organisation_kind_recipients(codes) -> list[str]:
    """A consent's kinds of organisation as its recipients read (["mission_locale"] →
    « tout organisme de type « Mission locale » »): the person page and the subject-access
    pack say it alike."""
    names = []
    for code in codes or ():
        try:
            name = str(OrganisationKind(code).label)
        except ValueError:
            names.append(UNKNOWN_ORGANISATION_KIND)
        else:
            names.append(f"tout organisme de type « {name} »")
    return names


def organisation_with_service(organisation, service=None) -> str:
    """« Chantier Les Jardins (Maraîchage) »: an organisation as a referral names it, its service
    in brackets when there is one (pages, e-mails, timeline texts)."""
    return f"{organisation.name} ({service.name})" if service else organisation.name
