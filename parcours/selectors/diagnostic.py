"""The shared diagnostic as the pages and the API show it: per domain, the current version (the
latest) and the previous ones, from versions already scoped to the actor
(`access.diagnostic_visible_to`)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..diagnostic_domains import DiagnosticDomain, domain_category, domain_slug, domains_in
from ..models import DiagnosticEntry


@dataclass
class DomainDiagnostic:
    domain: str
    current: DiagnosticEntry | None = None
    previous: list[DiagnosticEntry] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(DiagnosticDomain(self.domain).label)

    @property
    def category(self) -> str:
        return domain_category(self.domain)

    @property
    def slug(self) -> str:
        return domain_slug(self.domain)


def diagnostic_by_domain(
    versions: Iterable[DiagnosticEntry], categories: Iterable[str]
) -> list[DomainDiagnostic]:
    """One item per domain of `categories` (the table's order), written or not; its versions
    newest first. `versions` must already be scoped to those categories."""
    by_domain: dict[str, list[DiagnosticEntry]] = defaultdict(list)
    for entry in sorted(versions, key=lambda e: (e.created_at, e.pk), reverse=True):
        by_domain[entry.domain].append(entry)
    items = []
    for domain in domains_in(frozenset(categories)):
        written = by_domain.get(domain, [])
        items.append(DomainDiagnostic(domain, written[0] if written else None, written[1:]))
    return items
