"""Server-rendered SVG bar charts for the dashboard (no script, nothing the Content-Security-
Policy would block): geometry only, the template draws it. Each chart is an image with a title
and a description; its data table follows it on the page (the accessible alternative)."""

from dataclasses import dataclass

from parcours.selectors.referral_statistics import IndicatorFigures, display, month_label

WIDTH, HEIGHT = 640, 220
TOP, BOTTOM, LEFT = 24, 40, 8
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
# A suppressed month is drawn as a short hatched stub: visible, but no height that would tell
# the number.
STUB = 6


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the month, under the bar
    value: str  # the figure, above it (« < 5 » when suppressed)
    suppressed: bool

    @property
    def label_x(self) -> float:
        return round(self.x + self.width / 2, 1)

    @property
    def value_y(self) -> float:
        return round(self.y - 6, 1)


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = HEIGHT - BOTTOM
    label_y: int = HEIGHT - BOTTOM + 16


def bar_chart(figures: IndicatorFigures) -> Chart:
    unit = figures.indicator.unit
    values = [float(m.cell.value) for m in figures.months if m.cell.shown]
    top = max(values, default=0) or 1.0
    slot = (WIDTH - 2 * LEFT) / max(len(figures.months), 1)
    bars = []
    for index, month in enumerate(figures.months):
        cell = month.cell
        if cell.suppressed:
            height = STUB
        elif cell.value is None:
            height = 0
        else:
            height = round(PLOT_HEIGHT * float(cell.value) / top, 1)
        x = LEFT + index * slot + slot * 0.15
        bars.append(
            Bar(
                x=round(x, 1),
                y=round(HEIGHT - BOTTOM - height, 1),
                width=round(slot * 0.7, 1),
                height=height,
                label=month_label(month.month),
                value=display(cell, unit),
                suppressed=cell.suppressed,
            )
        )
    return Chart(bars)
