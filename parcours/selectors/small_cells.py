"""Small-cell suppression: statistics never show a count of fewer than five people.

Called by `selectors/referral_statistics.py` only, so that the page, its CSV and the API show
the same cells. Each referral concerns one person, each appointment one person: a count from 1
to 4 is suppressed (« < 5 », never the number); 0 is shown (it names nobody). When one cell of a
group whose total is shown is suppressed, the next smallest cell of the group is suppressed too
(complementary suppression): otherwise the total minus the other cells gives it back.
"""

from dataclasses import dataclass

THRESHOLD = 5
SUPPRESSED_LABEL = "< 5"


@dataclass(frozen=True)
class Cell:
    """A figure as it may be shown: `value` is None when suppressed or not computable."""

    value: float | int | None
    suppressed: bool = False

    @property
    def shown(self) -> bool:
        return not self.suppressed and self.value is not None


NOT_COMPUTABLE = Cell(None)


def is_small(count: int) -> bool:
    return 0 < count < THRESHOLD


def protect(counts: list[int]) -> list[Cell]:
    """The cells of a group of counts whose total is shown: primary then complementary
    suppression."""
    suppressed = [is_small(count) for count in counts]
    if sum(suppressed) == 1:
        others = [(count, i) for i, count in enumerate(counts) if count > 0 and not suppressed[i]]
        if others:
            suppressed[min(others)[1]] = True
    return [
        Cell(None, suppressed=True) if hidden else Cell(count)
        for count, hidden in zip(counts, suppressed, strict=True)
    ]


def protect_one(count: int) -> Cell:
    return Cell(None, suppressed=True) if is_small(count) else Cell(count)
