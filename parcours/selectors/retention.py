"""Retention durations in force (replaced by the retention rules when they land)."""

from dataclasses import dataclass

from ..categories import DataCategory


@dataclass(frozen=True)
class RetentionRuleInForce:
    category: str
    label: str
    active_months: int
    archived_months: int
    reference: str


def retention_rules_in_force() -> list[RetentionRuleInForce]:
    rules = [
        RetentionRuleInForce(c.value, str(c.label), 24, 24, "CASF art. R.263-8")
        for c in DataCategory
    ]
    rules.append(
        RetentionRuleInForce("journal", "Journal des accès", 12, 0, "CNIL délibération 2021-122")
    )
    return rules
