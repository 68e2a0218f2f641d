"""The agreement indicators' periodic report as a PDF (issue 18): the page's table, cell for cell
(`selectors.agreement_indicators.report_rows`), then each indicator's definition and formula."""

import datetime as dt

from ..selectors.agreement_indicators import (
    REPORT_COLUMNS,
    SUPPRESSED_TEXT,
    AgreementReport,
    direction_label,
    report_rows,
)
from .pdf import PdfSection, render_report_pdf


def agreement_indicators_pdf(
    report: AgreementReport, *, generated_at: dt.datetime | None = None
) -> bytes:
    agreement = report.agreement
    refreshed = (
        f"Chiffres mis à jour le {report.refreshed_at:%d/%m/%Y à %H:%M}."
        if report.refreshed_at
        else "Les chiffres n'ont pas encore été calculés : ils le sont chaque nuit."
    )
    table = PdfSection(
        heading="Valeurs et cibles, par période",
        paragraphs=[
            "Orientations envoyées d'un signataire à un autre, comptées au mois de leur envoi. "
            f"« {SUPPRESSED_TEXT} » : un chiffre de 1 à 4 n'est jamais diffusé, ni un taux ou un "
            "délai qui en dépend.",
            refreshed,
        ],
        columns=list(REPORT_COLUMNS),
        rows=report_rows(report),
        widths=[4, 1.3, 1.5, 1.6, 2.4, 1.2, 1.2, 1.6],
        empty_text="Aucun indicateur n'est annexé à cette convention.",
    )
    definitions = PdfSection(
        heading="Définitions et formules",
        columns=["Indicateur", "Définition", "Formule", "Sens"],
        rows=[
            [
                item.indicator.label,
                item.indicator.definition,
                item.indicator.formula,
                direction_label(item.indicator),
            ]
            for item in report.indicators
        ],
        widths=[3, 5, 4, 2],
        empty_text="Aucun indicateur n'est annexé à cette convention.",
    )
    return render_report_pdf(
        title=f"Indicateurs de la convention « {agreement.name} »",
        subtitle_lines=[
            f"Signataires : {', '.join(report.parties)}",
            f"Début : {agreement.starts_on:%d/%m/%Y}"
            + (f" ; fin : {agreement.ends_on:%d/%m/%Y}" if agreement.ends_on else ""),
        ],
        sections=[table, definitions],
        landscape=True,
        generated_at=generated_at,
        subject="Rapport périodique des indicateurs d'une convention",
    )
