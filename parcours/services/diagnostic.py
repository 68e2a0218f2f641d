"""Writes on the shared diagnostic (diagnostic socio-professionnel partagé): each write of a
domain is a new version, never an update (models/diagnostic.py)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import gate
from ..actor import Actor
from ..diagnostic_domains import (
    TEXT_MAX_LENGTH,
    DiagnosticDomain,
    DiagnosticLevel,
    domain_category,
)
from ..errors import InvalidInput
from ..gate import Action
from ..gate.journal import record_write
from ..models import DiagnosticEntry, EventKind
from .archive import raise_unless_open
from .timeline import timeline_record


def _checked(domain: str, text: str, level: str) -> str:
    """The situation as stored (stripped); InvalidInput with French field messages otherwise."""
    errors: dict[str, list[str]] = {}
    if domain not in DiagnosticDomain.values:
        errors["domain"] = [_("Choisissez un domaine du diagnostic.")]
    if level not in ("", *DiagnosticLevel.values):
        errors["level"] = [_("Choisissez une appréciation proposée, ou aucune.")]
    text = text.strip()
    if not text:
        errors["text"] = [_("Décrivez la situation de la personne dans ce domaine.")]
    elif len(text) > TEXT_MAX_LENGTH:
        errors["text"] = [
            _("%(max)d caractères au plus (%(count)d saisis).")
            % {"max": TEXT_MAX_LENGTH, "count": len(text)}
        ]
    if errors:
        raise InvalidInput(_("Le diagnostic n'a pas été enregistré."), fields=errors)
    return text


@transaction.atomic
def diagnostic_write(
    *, actor: Actor, pathway_id: int, domain: str, text: str, level: str = ""
) -> DiagnosticEntry:
    """Write a new version of one domain of a pathway's diagnostic.

    Preconditions: a known domain, a situation of 1 to 2000 characters, a known level or none
    (400 otherwise, before any lookup); the actor sees the domain's category on the pathway
    (not found otherwise — journaled when the pathway exists: a partner without that category
    learns nothing of it); the gate's table allows `diagnostic.write` to the actor's role and
    relations (403, journaled); the pathway is neither archived (409 `archived`) nor closed (409).

    Side effects, in one transaction: the version (author, organisation, date), a timeline event
    in the domain's category (a contact: the retention clock moves), the journal's write row
    with that category. The previous versions stay as they were.
    """
    text = _checked(domain, text, level)
    category = domain_category(domain)
    pathway = gate.pathway_for(actor, pathway_id, Action.DIAGNOSTIC_WRITE, category=category)
    raise_unless_open(pathway, _("Ce parcours est clôturé : son diagnostic ne change plus."))
    entry = DiagnosticEntry(
        pathway=pathway,
        domain=domain,
        level=level,
        text=text,
        author=actor.user,
        author_organisation=actor.organisation,
        created_at=timezone.now(),
    )
    entry.full_clean(validate_constraints=False)
    entry.save(force_insert=True)
    label = DiagnosticDomain(domain).label
    timeline_record(
        pathway=pathway,
        kind=EventKind.DIAGNOSTIC_WRITTEN,
        actor=actor,
        text=f"{label} : {DiagnosticLevel(level).label}" if level else str(label),
        category=category,
    )
    record_write(
        actor,
        Action.DIAGNOSTIC_WRITE,
        object_type="pathway",
        object_id=pathway.pk,
        person_id=pathway.person_id,
        pathway_ids=[pathway.pk],
        categories={category},
    )
    return entry
