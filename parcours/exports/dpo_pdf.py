"""The DPO's other reports as PDFs (per user, anomalies, processing register), on the generic
renderer; the per-person report is `access_report.access_report_pdf`."""

from django.utils import timezone

from ..selectors.anomalies import Anomaly, AnomalyThresholds
from ..selectors.processing_register import ProcessingRegister
from ..selectors.user_activity import UserActivityReport
from .access_report import period_text
from .pdf import PdfSection, render_report_pdf

USER_COLUMNS = [
    "Date",
    "Organisation",
    "Opération",
    "Dossier",
    "Personne",
    "Catégories",
    "Finalité",
    "Base",
    "Adresse IP",
]
RETENTION_COLUMNS = [
    "Données",
    "Actives (mois)",
    "Archivées (mois)",
    "Effacées après (mois)",
    "Référence",
]
INTERNAL = "Usage réservé au délégué à la protection des données : document interne."


def _when(value) -> str:
    return f"{timezone.localtime(value):%d/%m/%Y %H:%M}"


def user_report_pdf(report: UserActivityReport) -> bytes:
    totals = PdfSection(
        heading="Synthèse",
        paragraphs=[
            f"{len(report.rows)} action(s) sur {report.distinct_people} personne(s) différente(s)."
        ],
        columns=["Opération", "Nombre"],
        rows=[[operation, str(n)] for operation, n in report.totals_by_operation.items()],
        widths=[4, 1],
        empty_text="Aucune action sur la période.",
    )
    detail = PdfSection(
        heading="Détail",
        columns=USER_COLUMNS,
        rows=[
            [
                _when(row.occurred_at),
                row.organisation,
                row.operation,
                row.record,
                row.person,
                row.categories,
                row.purpose,
                row.basis,
                row.client_ip,
            ]
            for row in report.rows
        ],
        widths=[2.2, 3, 2, 2.2, 2.2, 3, 3.5, 2.5, 2.2],
        empty_text="Aucune action sur la période.",
    )
    return render_report_pdf(
        title=f"Activité de l'utilisateur : {report.user_name}",
        subtitle_lines=[INTERNAL, f"Période : {period_text(report.start, report.end)}"],
        sections=[totals, detail],
        landscape=True,
    )


def anomalies_pdf(findings: list[Anomaly], start, end, thresholds: AnomalyThresholds) -> bytes:
    sections = [
        PdfSection(
            heading="Seuils appliqués",
            columns=["Seuil", "Valeur"],
            rows=[
                ["Volume : multiple de la médiane habituelle", f"{thresholds.volume_factor:g}"],
                ["Volume : minimum de personnes par jour", str(thresholds.volume_min_people)],
                ["Historique de comparaison (jours)", str(thresholds.baseline_days)],
                [
                    "Heures ouvrées",
                    f"{thresholds.working_hours_start} h – {thresholds.working_hours_end} h",
                ],
                ["Refus répétés : nombre par jour", str(thresholds.denials_per_day)],
            ],
            widths=[4, 1],
        )
    ]
    if not findings:
        sections.append(PdfSection(heading="Constats", paragraphs=["Aucune anomalie."]))
    for number, finding in enumerate(findings, start=1):
        sections.append(
            PdfSection(
                heading=f"{number}. {finding.label} — {finding.user_name} ({finding.organisation})",
                paragraphs=[finding.summary]
                + (
                    [f"{len(finding.evidence)} premières lignes sur {finding.evidence_total}."]
                    if finding.evidence_total > len(finding.evidence)
                    else []
                ),
                columns=["Ligne", "Date", "Opération", "Dossier", "Personne", "Base"],
                rows=[
                    [
                        str(row.event_id),
                        _when(row.occurred_at),
                        row.operation,
                        row.record,
                        row.person,
                        row.basis,
                    ]
                    for row in finding.evidence
                ],
                widths=[1.2, 2.2, 2.2, 2.4, 2.4, 3],
                empty_text="Aucune ligne du journal en preuve.",
                level=2,
            )
        )
    return render_report_pdf(
        title="Anomalies d'accès",
        subtitle_lines=[INTERNAL, f"Période : {period_text(start, end)}"],
        sections=sections,
        landscape=True,
    )


def register_pdf(register: ProcessingRegister) -> bytes:
    sections = [
        PdfSection(heading="Finalité", paragraphs=[register.purpose]),
        PdfSection(
            heading="Catégories de données",
            columns=["Catégorie", "Sensible (art. 9/10)", "Parcours concernés"],
            rows=[
                [c.label, "oui" if c.sensitive else "non", str(c.pathways)]
                for c in register.categories
            ],
            widths=[4, 1.5, 1.5],
        ),
        PdfSection(
            heading="Destinataires",
            columns=["Organisation", "Type", "Catégories (nombre de parcours)"],
            rows=[
                [
                    r.organisation,
                    r.kind,
                    ", ".join(f"{label} ({n})" for label, n in r.categories.items()),
                ]
                for r in register.recipients
            ],
            widths=[3, 2, 5],
            empty_text="Aucun destinataire.",
        ),
        PdfSection(
            heading="Bases légales utilisées",
            columns=["Base", "Habilitations"],
            rows=[[label, str(n)] for label, n in register.bases],
            widths=[4, 1],
            empty_text="Aucune.",
        ),
        PdfSection(
            heading="Durées de conservation",
            columns=RETENTION_COLUMNS,
            rows=[
                [
                    r.label,
                    str(r.active_months),
                    str(r.archived_months),
                    str(r.erased_after_months),
                    r.reference,
                ]
                for r in register.retention
            ],
            widths=[3, 1.3, 1.3, 1.3, 3],
        ),
        PdfSection(heading="Mesures de sécurité", paragraphs=list(register.security_measures)),
    ]
    return render_report_pdf(
        title="Extrait du registre des traitements",
        subtitle_lines=[
            f"Périmètre : {register.scope}",
            "Généré à partir de la configuration en vigueur (RGPD, article 30).",
        ],
        sections=sections,
        generated_at=register.generated_at,
    )
