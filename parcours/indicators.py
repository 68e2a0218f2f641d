"""The catalogue of agreement indicators (issue 18), as data — like `transitions.MOVES`.

An agreement annexes some of these (`AgreementIndicator`: a target and a reporting period);
`selectors/agreement_indicators.py` computes each from the monthly referral figures
(`ReferralMonthlyFigure`, refreshed by Celery — never from the referrals per request), the pages,
the CSV, the PDF and the API show the French name, definition and formula below, and the tests
check every formula on a hand-built data set (tests/statistics/test_agreement_indicators.py).

- **means** (moyens): what the partners commit to do — answer within the agreed delay, quickly,
  book a first appointment soon;
- **results** (résultats): what became of the people — they came, left for a job or a training,
  were refused for which reason.

A rate is a share between 0 and 1 (shown, and targeted, in per cent); a delay is in days; a
count is a number of referrals (one person each). `direction` says which way is better: the
deviation from target is read with it.

« Comités tenus » (committees held) is in the catalogue but **not yet available**: the case
committees (CLCVP) are recorded since they landed with this catalogue, but the indicator is not
yet counted from their sessions (per employment area, not per agreement: which sessions count
for an agreement is still to decide); it cannot be annexed until then.
"""

from dataclasses import dataclass
from enum import StrEnum

from .models.referral import RefusalReason


class Kind(StrEnum):
    MEANS = "means"
    RESULTS = "results"


class Unit(StrEnum):
    RATE = "rate"  # a share, 0–1
    DAYS = "days"
    COUNT = "count"


class Direction(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


KIND_LABELS = {Kind.MEANS: "Moyens", Kind.RESULTS: "Résultats"}
UNIT_LABELS = {Unit.RATE: "%", Unit.DAYS: "jours", Unit.COUNT: "orientations"}
DIRECTION_LABELS = {
    Direction.HIGHER: "Plus c'est haut, mieux c'est",
    Direction.LOWER: "Plus c'est bas, mieux c'est",
}


@dataclass(frozen=True)
class CatalogueIndicator:
    code: str
    kind: Kind
    label: str
    definition: str
    formula: str  # shown to users, in words
    unit: Unit
    direction: Direction
    # The ReferralMonthlyFigure columns summed over the period: a count is its numerator;
    # a rate or a delay is numerator ÷ denominator (seconds ÷ referrals for a delay).
    numerator: tuple[str, ...] = ()
    denominator: tuple[str, ...] = ()
    # False: described but not computable yet (no data recorded); cannot be annexed.
    available: bool = True


POSITIVE_OUTCOMES = ("outcome_job", "outcome_training")
SHOW_UPS = ("appointments_attended", "appointments_no_show")

CATALOGUE: tuple[CatalogueIndicator, ...] = (
    # --- means ---------------------------------------------------------------------------------
    CatalogueIndicator(
        "answered_on_time_rate",
        Kind.MEANS,
        "Orientations traitées dans le délai convenu",
        "Part des orientations envoyées entre signataires auxquelles le destinataire a répondu "
        "(acceptation, refus ou réorientation) avant l'échéance fixée par la convention.",
        "Orientations ayant reçu une réponse dans le délai ÷ orientations envoyées",
        Unit.RATE,
        Direction.HIGHER,
        numerator=("answered_on_time",),
        denominator=("sent",),
    ),
    CatalogueIndicator(
        "answer_rate",
        Kind.MEANS,
        "Taux de réponse aux orientations",
        "Part des orientations envoyées qui ont reçu une réponse, dans le délai ou non.",
        "Orientations ayant reçu une réponse ÷ orientations envoyées",
        Unit.RATE,
        Direction.HIGHER,
        numerator=("answered",),
        denominator=("sent",),
    ),
    CatalogueIndicator(
        "answer_days",
        Kind.MEANS,
        "Délai moyen de réponse",
        "Temps moyen entre l'envoi d'une orientation et la réponse du destinataire, sur les "
        "orientations qui ont reçu une réponse.",
        "Somme des délais de réponse ÷ orientations ayant reçu une réponse (en jours)",
        Unit.DAYS,
        Direction.LOWER,
        numerator=("answer_seconds",),
        denominator=("answered",),
    ),
    CatalogueIndicator(
        "appointment_days",
        Kind.MEANS,
        "Délai moyen jusqu'au premier rendez-vous",
        "Temps moyen entre l'envoi d'une orientation et la date de son premier rendez-vous "
        "(non annulé).",
        "Somme des délais jusqu'au premier rendez-vous ÷ orientations avec un rendez-vous "
        "(en jours)",
        Unit.DAYS,
        Direction.LOWER,
        numerator=("appointment_seconds",),
        denominator=("with_appointment",),
    ),
    CatalogueIndicator(
        "committees_held",
        Kind.MEANS,
        "Comités de parcours tenus",
        "Nombre de comités locaux de parcours (CLCVP) tenus sur la période. Pas encore "
        "disponible : parcours n'enregistre pas encore les comités.",
        "Comités tenus sur la période",
        Unit.COUNT,
        Direction.HIGHER,
        available=False,
    ),
    # --- results -------------------------------------------------------------------------------
    CatalogueIndicator(
        "show_rate",
        Kind.RESULTS,
        "Taux de venue aux rendez-vous",
        "Part des rendez-vous dont l'issue est saisie où la personne est venue.",
        "Rendez-vous honorés ÷ (rendez-vous honorés + rendez-vous non honorés)",
        Unit.RATE,
        Direction.HIGHER,
        numerator=("appointments_attended",),
        denominator=SHOW_UPS,
    ),
    CatalogueIndicator(
        "positive_exit_rate",
        Kind.RESULTS,
        "Taux de sorties positives",
        "Part des orientations clôturées sur un accès à l'emploi ou une entrée en formation.",
        "(Suites « emploi » + suites « formation ») ÷ orientations clôturées",
        Unit.RATE,
        Direction.HIGHER,
        numerator=POSITIVE_OUTCOMES,
        denominator=("closed",),
    ),
    CatalogueIndicator(
        "placed",
        Kind.RESULTS,
        "Personnes en emploi ou en formation",
        "Nombre d'orientations clôturées sur un accès à l'emploi ou une entrée en formation.",
        "Suites « emploi » + suites « formation »",
        Unit.COUNT,
        Direction.HIGHER,
        numerator=POSITIVE_OUTCOMES,
    ),
    CatalogueIndicator(
        "refusal_rate",
        Kind.RESULTS,
        "Taux de refus",
        "Part des réponses qui sont des refus.",
        "Orientations refusées ÷ orientations ayant reçu une réponse",
        Unit.RATE,
        Direction.LOWER,
        numerator=("refused",),
        denominator=("answered",),
    ),
    *(
        CatalogueIndicator(
            f"refusal_{reason}_rate",
            Kind.RESULTS,
            f"Part des refus pour le motif « {label} »",
            f"Part des refus dont le motif est « {label} ».",
            f"Refus pour le motif « {label} » ÷ orientations refusées",
            Unit.RATE,
            Direction.LOWER,
            numerator=(f"refused_{reason}",),
            denominator=("refused",),
        )
        for reason, label in RefusalReason.choices
    ),
    CatalogueIndicator(
        "appointment_on_time_rate",
        Kind.RESULTS,
        "Coordination : premier rendez-vous dans le délai convenu",
        "Part des orientations acceptées dont le premier rendez-vous (non annulé) a lieu avant "
        "l'échéance fixée par la convention.",
        "Orientations avec un premier rendez-vous dans le délai ÷ orientations acceptées",
        Unit.RATE,
        Direction.HIGHER,
        numerator=("appointment_on_time",),
        denominator=("accepted",),
    ),
)

BY_CODE: dict[str, CatalogueIndicator] = {i.code: i for i in CATALOGUE}
AVAILABLE_CODES: tuple[str, ...] = tuple(i.code for i in CATALOGUE if i.available)
# The choices of the model's field, the forms and the API (French names only are shown).
CHOICES: list[tuple[str, str]] = [(i.code, i.label) for i in CATALOGUE if i.available]


def indicator(code: str) -> CatalogueIndicator:
    return BY_CODE[code]
