"""The indicators annexed to an agreement and their periodic report (issue 18).

`agreement_indicators_set` replaces the agreement's annexed indicators (catalogue codes of
`parcours/indicators.py`, each with a target and a reporting period); `agreement_indicators_read`
and `agreement_indicators_report` are the reads the pages, the files and the API share. Every
one finds the agreement in the actor's scope first (a party's members only: 404 otherwise, like
the other agreement services), then asks the gate (`agreement.indicators_set` /
`agreement.indicators_read`: 403 with the rule's French message).

Annexing indicators binds no party further — it opens no access and sets no delay — so the
change takes effect at once and the parties' answers stand; each change is in the indicators'
history with its author. Not journaled: no personal data is read or written (the figures are
aggregates, small cells suppressed).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from .. import access, gate
from ..actor import Actor
from ..errors import InvalidInput
from ..gate import Action
from ..gate.relations import relations_to_agreement
from ..indicators import AVAILABLE_CODES, BY_CODE, Unit
from ..models import (
    MAX_ANNEXED_INDICATORS,
    Agreement,
    AgreementIndicator,
    AgreementParty,
    ReportingPeriod,
)
from ..selectors.agreement_indicators import AgreementReport, IndicatorReport, agreement_report
from .history import delete_with_history, save_with_history

# A target above this is a typing error (a rate is at most 100 %, no delay is a thousand days).
MAX_TARGET = {Unit.RATE: Decimal(100), Unit.DAYS: Decimal(999), Unit.COUNT: Decimal(999_999)}


@dataclass(frozen=True)
class IndicatorTerms:
    code: str
    target: Decimal
    period: str


def _agreements(actor: Actor) -> QuerySet[Agreement]:
    return access.agreements_visible_to(actor).prefetch_related(
        Prefetch(
            "signatures",
            queryset=AgreementParty.objects.select_related("organisation").order_by("pk"),
        ),
        Prefetch("indicators", queryset=AgreementIndicator.objects.order_by("pk")),
    )


def _find(actor: Actor, agreement_id: object, action: Action, *, lock: bool = False) -> Agreement:
    """The agreement within the actor's scope (DoesNotExist: 404), then the gate (403)."""
    try:
        key = int(agreement_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise Agreement.DoesNotExist from None
    scope = _agreements(actor)
    if lock:
        scope = scope.select_for_update(of=("self",))
    agreement = scope.get(pk=key)
    gate.require(actor, action, relations=relations_to_agreement(actor, agreement))
    return agreement


def agreements_with_indicators(*, actor: Actor) -> list[Agreement]:
    """The agreements of the actor's organisation whose indicators it may read (the agreements
    page lists them); [] for a role the gate's table refuses."""
    if not gate.may(actor, Action.AGREEMENT_INDICATORS_READ, {gate.Relation.PARTY}):
        return []
    return list(_agreements(actor).order_by("-starts_on", "name", "pk"))


def agreement_indicators_read(*, actor: Actor, agreement_id: object) -> Agreement:
    """The agreement with its parties and annexed indicators prefetched."""
    return _find(actor, agreement_id, Action.AGREEMENT_INDICATORS_READ)


def agreement_indicators_for_change(*, actor: Actor, agreement_id: object) -> Agreement:
    """The agreement, for the form that changes its indicators: the same 404 and 403 before
    anything is typed as `agreement_indicators_set` gives after."""
    return _find(actor, agreement_id, Action.AGREEMENT_INDICATORS_SET)


def agreement_indicators_report(
    *, actor: Actor, agreement_id: object, today_month: dt.date | None = None
) -> AgreementReport:
    """The periodic report of every annexed indicator (selectors/agreement_indicators.py)."""
    agreement = _find(actor, agreement_id, Action.AGREEMENT_INDICATORS_READ)
    return agreement_report(agreement, today_month=today_month)


@dataclass(frozen=True)
class AgreementOverview:
    """One agreement on the dashboard: its annexed indicators and those off target."""

    agreement: Agreement
    annexed: int
    off_target: list[IndicatorReport]


def agreement_indicators_overview(*, actor: Actor) -> list[AgreementOverview]:
    """For the dashboard (« Indicateurs de vos conventions »): each agreement of the actor's
    organisation, with the annexed indicators whose newest shown value misses its target.
    [] when the role may not read them. Two queries an agreement that annexes indicators (its
    figures, the last refresh): an organisation is party to a handful."""
    overview = []
    for agreement in agreements_with_indicators(actor=actor):
        annexed = len(agreement.indicators.all())
        missed: list[IndicatorReport] = []
        if annexed:
            missed = [
                item
                for item in agreement_report(agreement).indicators
                if item.latest is not None and item.latest.on_target is False
            ]
        overview.append(AgreementOverview(agreement, annexed, missed))
    return overview


def _terms(raw: object) -> list[IndicatorTerms]:
    """The annexed indicators as typed (list of {code, target, period}), or InvalidInput with a
    French message per field (`indicators`)."""
    if not isinstance(raw, list | tuple):
        raise InvalidInput(
            _("Donnez la liste des indicateurs."),
            fields={"indicators": [_("Donnez la liste des indicateurs.")]},
        )
    if len(raw) > MAX_ANNEXED_INDICATORS:
        message = _("Une convention annexe au plus %(n)s indicateurs.") % {
            "n": MAX_ANNEXED_INDICATORS
        }
        raise InvalidInput(message, fields={"indicators": [message]})
    terms: list[IndicatorTerms] = []
    seen: set[str] = set()
    for item in raw:
        entry = item if isinstance(item, dict) else {}
        code = str(entry.get("code") or "")
        if code not in AVAILABLE_CODES:
            message = _("Choisissez un indicateur du catalogue.")
            raise InvalidInput(message, fields={"indicators": [message]})
        if code in seen:
            message = _("« %(label)s » est annexé deux fois.") % {"label": BY_CODE[code].label}
            raise InvalidInput(message, fields={"indicators": [message]})
        seen.add(code)
        label = BY_CODE[code].label
        try:
            target = Decimal(str(entry.get("target"))).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            message = _("La cible de « %(label)s » doit être un nombre.") % {"label": label}
            raise InvalidInput(message, fields={"indicators": [message]}) from None
        highest = MAX_TARGET[BY_CODE[code].unit]
        if not target.is_finite() or target < 0 or target > highest:
            message = _("La cible de « %(label)s » est comprise entre 0 et %(max)s.") % {
                "label": label,
                "max": highest,
            }
            raise InvalidInput(message, fields={"indicators": [message]})
        period = str(entry.get("period") or "")
        if period not in ReportingPeriod.values:
            message = _("Choisissez la périodicité du rapport de « %(label)s ».") % {"label": label}
            raise InvalidInput(message, fields={"indicators": [message]})
        terms.append(IndicatorTerms(code, target, period))
    return terms


@transaction.atomic
def agreement_indicators_set(
    *, actor: Actor, agreement_id: object, indicators: object
) -> Agreement:
    """Replace the agreement's annexed indicators by `indicators` ({code, target, period} each).

    Preconditions: the actor's organisation is a party (else 404); the gate's table lets its
    role choose them (403); each code is an available catalogue indicator, once; each target
    within its unit's bounds; each period known (400 with French messages). Effects: indicators
    removed, changed or added, each in the history with the actor; the parties' answers stand.
    """
    agreement = _find(actor, agreement_id, Action.AGREEMENT_INDICATORS_SET, lock=True)
    wanted = {t.code: t for t in _terms(indicators)}
    current = {i.code: i for i in AgreementIndicator.objects.filter(agreement=agreement)}
    organisation = actor.organisation.name
    for code in sorted(set(current) - set(wanted)):
        delete_with_history(
            current[code],
            actor=actor,
            reason=_("Indicateur retiré par %(organisation)s") % {"organisation": organisation},
        )
    for code, terms in wanted.items():
        annexed = current.get(code) or AgreementIndicator(agreement=agreement, code=code)
        if annexed.pk and annexed.target == terms.target and annexed.period == terms.period:
            continue
        reason = (
            _("Indicateur modifié par %(organisation)s")
            if annexed.pk
            else _("Indicateur annexé par %(organisation)s")
        )
        annexed.target = terms.target
        annexed.period = terms.period
        save_with_history(annexed, actor=actor, reason=reason % {"organisation": organisation})
    return _find(actor, agreement.pk, Action.AGREEMENT_INDICATORS_SET)
