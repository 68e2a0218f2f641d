"""The person's access report as a PDF (both versions), on the generic renderer."""

import datetime as dt

from django.utils import timezone

from ..models.person import person_reference
from ..selectors.access_reports import AccessReport
from ..selectors.subject_access import ALL_TIME_BEFORE
from .pdf import PdfSection, render_report_pdf

VERSION_LABELS = {"internal": "version interne", "person": "version destinée à la personne"}
VERSION_NOTES = {
    "internal": (
        "Usage réservé au délégué à la protection des données : les personnels sont nommés."
    ),
    "person": "Remise à la personne au titre du droit d'accès (RGPD, article 15).",
}
PERSON_VERSION_NOTE = (
    "Ce rapport indique, pour chaque accès à vos données, sa date, l'organisation qui l'a fait, "
    "l'opération, les catégories de données concernées, la finalité et la base qui l'autorisait. "
    "Conformément à l'article 15 du RGPD tel que l'interprète la Cour de justice de l'Union "
    "européenne (arrêt C-579/21 du 22 juin 2023), les noms des personnels ne figurent pas : "
    "chaque accès est attribué à l'organisation pour le compte de laquelle il a eu lieu. Si "
    "l'identité d'un intervenant vous est nécessaire pour exercer vos droits, adressez-vous au "
    "délégué à la protection des données."
)
INTERNAL_VERSION_NOTE = (
    "Version interne : elle nomme les personnels. Ne la remettez pas à la personne ; remettez-lui "
    "la version qui lui est destinée."
)


def period_text(start: dt.datetime, end: dt.datetime) -> str:
    """The period [start, end) in words; an end at midnight shows the day before, a start at
    `ALL_TIME_BEFORE` or earlier reads "all the journal kept"."""
    end_local = timezone.localtime(end)
    last_day = end_local.date()
    if end_local.time() == dt.time.min:
        last_day -= dt.timedelta(days=1)
    if start <= ALL_TIME_BEFORE:
        return f"tous les accès conservés au journal, jusqu'au {last_day:%d/%m/%Y}"
    return f"du {timezone.localtime(start):%d/%m/%Y} au {last_day:%d/%m/%Y}"


def access_report_sections(report: AccessReport, *, heading_level: int = 1) -> list[PdfSection]:
    """The report's sections (summary with totals per organisation, then every access), also
    used inside the subject-access pack's PDF."""
    person_version = report.version == "person"
    count = len(report.rows)
    summary = [
        f"{count} accès enregistré{'s' if count > 1 else ''} "
        f"({period_text(report.start, report.end)}).",
        PERSON_VERSION_NOTE if person_version else INTERNAL_VERSION_NOTE,
    ]
    totals = PdfSection(
        heading="Accès par organisation",
        paragraphs=summary,
        columns=["Organisation", "Nombre d'accès"],
        rows=[[org, str(n)] for org, n in report.totals_by_organisation.items()],
        widths=[4, 1],
        empty_text="Aucun accès sur la période.",
        level=heading_level,
    )
    if person_version:
        columns = ["Date", "Organisation", "Par", "Opération", "Données", "Catégories"]
        columns += ["Finalité", "Base"]
    else:
        columns = ["Date", "Organisation", "Utilisateur", "Opération", "Dossier", "Catégories"]
        columns += ["Finalité", "Base"]
    rows = [
        [
            f"{timezone.localtime(row.occurred_at):%d/%m/%Y %H:%M}",
            row.organisation,
            row.user,
            row.operation,
            row.record,
            row.categories,
            row.purpose,
            row.basis,
        ]
        for row in report.rows
    ]
    detail = PdfSection(
        heading="Détail des accès",
        columns=columns,
        rows=rows,
        widths=[2.2, 3, 2.6, 2, 2.2, 3, 4, 2.8],
        empty_text="Aucun accès sur la période.",
        level=heading_level,
    )
    return [totals, detail]


def access_report_pdf(report: AccessReport, *, generated_at: dt.datetime | None = None) -> bytes:
    """The report as a PDF: A4 landscape, a heading naming the version, the period, the totals
    per organisation, then every access."""
    return render_report_pdf(
        title=f"Rapport des accès aux données — {VERSION_LABELS[report.version]}",
        subtitle_lines=[
            VERSION_NOTES[report.version],
            f"Personne : dossier {person_reference(report.person_id)}",
            f"Période : {period_text(report.start, report.end)}",
        ],
        sections=access_report_sections(report),
        landscape=True,
        generated_at=generated_at,
    )
